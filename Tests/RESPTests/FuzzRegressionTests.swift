import NIOCore
import RESP
import Testing

/// Decodes one reply, re-encodes its value and decodes that again.
private func decodeAndReencode(_ bytes: [UInt8]) throws -> (first: RESPValue, second: RESPValue) {
    var decoder = RESPTokenDecoder()
    var buffer = ByteBuffer(bytes: bytes)
    let first = RESPValue(try #require(try decoder.decode(from: &buffer)))
    var encoded = ByteBuffer()
    first.encode(into: &encoded)
    let second = RESPValue(try #require(try decoder.decode(from: &encoded)))
    #expect(encoded.readableBytes == 0)
    return (first, second)
}

/// Inputs the fuzzer (scripts/fuzz.sh) found, kept so the fixes stay fixed.
@Suite("Fuzzer findings")
struct FuzzRegressionTests {
    @Test("a verbatim format that is not valid UTF-8 decodes to three bytes and re-encodes validly")
    func invalidUTF8VerbatimFormat() throws {
        // Found by FuzzRESP: the format 0xB1 'x' 't' became "\u{FFFD}xt" (5 bytes), and
        // re-encoding it wrote a reply the decoder rejects as invalid_verbatim.
        let crash: [UInt8] = wire("=15\r\n") + [0xB1] + wire("xt:Some ") + [0x97] + wire("tring\r\n")
        let (first, second) = try decodeAndReencode(crash)
        #expect(first == .verbatimString(format: "?xt", "Some \u{FFFD}tring"))
        #expect(second == first)
    }

    @Test("a verbatim format ending inside a multi-byte character keeps its ASCII bytes")
    func truncatedMultibyteFormat() throws {
        let (first, second) = try decodeAndReencode(wire("=5\r\nab") + [0xC3] + wire(":x\r\n"))
        #expect(first == .verbatimString(format: "ab?", "x"))
        #expect(second == first)
    }

    @Test("a verbatim format that is valid multi-byte UTF-8 is kept as is")
    func validMultibyteFormat() throws {
        let (first, second) = try decodeAndReencode(wire("=5\r\néx:y\r\n"))
        #expect(first == .verbatimString(format: "éx", "y"))
        #expect(second == first)
    }
}
