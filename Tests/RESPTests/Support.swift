import NIOCore
import RESP

// Shared helpers for the RESP tests: building byte buffers from readable literals, decoding
// everything a buffer holds, and comparing values so that `nan` equals `nan`.

extension ByteBuffer {
    /// A buffer holding exactly `bytes`.
    init(bytes: [UInt8]) {
        self.init()
        self.writeBytes(bytes)
    }
}

/// The UTF-8 bytes of a string literal, for writing wire bytes as `"$3\r\nfoo\r\n"`.
func wire(_ text: String) -> [UInt8] { Array(text.utf8) }

/// One reply on the wire and the value it must decode to.
struct DecodeCase: Sendable, CustomStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: RESPValue

    init(_ name: String, _ bytes: [UInt8], _ expected: RESPValue) {
        self.name = name
        self.bytes = bytes
        self.expected = expected
    }

    init(_ name: String, _ text: String, _ expected: RESPValue) {
        self.init(name, wire(text), expected)
    }

    var description: String { name }
}

/// Malformed bytes and the error code the decoder must report for them.
struct MalformedCase: Sendable, CustomStringConvertible {
    let name: String
    let bytes: [UInt8]
    let code: RESPParseError.Code

    init(_ name: String, _ text: String, _ code: RESPParseError.Code) {
        self.name = name
        self.bytes = wire(text)
        self.code = code
    }

    init(_ name: String, _ bytes: [UInt8], _ code: RESPParseError.Code) {
        self.name = name
        self.bytes = bytes
        self.code = code
    }

    var description: String { name }
}

/// What decoding a buffer to exhaustion produced.
struct DecodeRun {
    var values: [RESPValue] = []
    var error: RESPParseError?
    /// Bytes left unconsumed in the buffer at the end.
    var leftover = 0
}

/// Decodes replies from `buffer` until the decoder returns nil or throws, checking on the way
/// that neither outcome consumes any byte.
func drain(_ buffer: inout ByteBuffer, with decoder: inout RESPTokenDecoder, into run: inout DecodeRun) {
    while true {
        let before = buffer.readableBytes
        do {
            guard let token = try decoder.decode(from: &buffer) else {
                precondition(buffer.readableBytes == before, "nil consumed bytes")
                break
            }
            run.values.append(RESPValue(token))
        } catch {
            precondition(buffer.readableBytes == before, "an error consumed bytes")
            run.error = error
            break
        }
    }
    run.leftover = buffer.readableBytes
}

/// Decodes every reply in `bytes` with a fresh decoder.
func decodeAll(_ bytes: [UInt8], limits: RESPLimits = .default) -> DecodeRun {
    var decoder = RESPTokenDecoder(limits: limits)
    var buffer = ByteBuffer(bytes: bytes)
    var run = DecodeRun()
    drain(&buffer, with: &decoder, into: &run)
    return run
}

/// The error decoding `bytes` throws, or nil when it throws none.
func decodeError(_ bytes: [UInt8], limits: RESPLimits = .default) -> RESPParseError? {
    decodeAll(bytes, limits: limits).error
}

/// Structural equality in which every `nan` equals every other `nan`.
func equivalent(_ a: RESPValue, _ b: RESPValue) -> Bool {
    switch (a, b) {
    case (.double(let x), .double(let y)):
        return (x.isNaN && y.isNaN) || x == y
    case (.array(let x), .array(let y)), (.set(let x), .set(let y)), (.push(let x), .push(let y)):
        return equivalent(x, y)
    case (.map(let x), .map(let y)):
        return equivalent(x, y)
    case (.attributed(let xa, let xv), .attributed(let ya, let yv)):
        return equivalent(xa, ya) && equivalent(xv, yv)
    default:
        return a == b
    }
}

func equivalent(_ a: [RESPValue], _ b: [RESPValue]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { equivalent($0, $1) }
}

func equivalent(_ a: [RESPValue.Pair], _ b: [RESPValue.Pair]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { equivalent($0.key, $1.key) && equivalent($0.value, $1.value) }
}
