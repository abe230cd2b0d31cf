import RESP
