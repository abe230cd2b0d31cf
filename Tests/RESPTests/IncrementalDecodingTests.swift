import NIOCore
import RESP
import Testing

/// All the decode cases back to back, as one pipelined stream.
private let pipelined: (bytes: [UInt8], values: [RESPValue]) = (
    decodeCases.flatMap(\.bytes), decodeCases.map(\.expected)
)

@Suite("Decoding replies that arrive in pieces")
struct IncrementalDecodingTests {
    @Test("a reply fed one byte at a time decodes only at its last byte, consuming nothing before", arguments: decodeCases)
    func byteAtATime(_ testCase: DecodeCase) throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer()
        for (index, byte) in testCase.bytes.enumerated() {
            buffer.writeInteger(byte)
            let token = try decoder.decode(from: &buffer)
            if index < testCase.bytes.count - 1 {
                #expect(token == nil, "decoded early at byte \(index)")
                #expect(buffer.readableBytes == index + 1, "consumed bytes while incomplete")
            } else {
                let token = try #require(token)
                #expect(equivalent(RESPValue(token), testCase.expected))
                #expect(buffer.readableBytes == 0)
            }
        }
    }

    @Test("a reply fed one byte at a time to fresh decoders decodes only at its last byte", arguments: decodeCases)
    func byteAtATimeFreshDecoder(_ testCase: DecodeCase) throws {
        // A fresh decoder has no memory of how many bytes the previous call needed.
        for end in 1..<testCase.bytes.count {
            let run = decodeAll(Array(testCase.bytes[..<end]))
            #expect(run.values.isEmpty && run.error == nil && run.leftover == end, "prefix of \(end) bytes")
        }
    }

    @Test("several replies in one buffer decode in order")
    func pipelinedReplies() {
        let run = decodeAll(pipelined.bytes)
        #expect(run.error == nil)
        #expect(equivalent(run.values, pipelined.values))
        #expect(run.leftover == 0)
    }

    @Test("a trailing partial reply stays in the buffer after the complete ones")
    func trailingPartial() {
        let run = decodeAll(wire("+OK\r\n:1\r\n$5\r\nhel"))
        #expect(run.values == [.simpleString("OK"), .integer(1)])
        #expect(run.error == nil)
        #expect(run.leftover == 7)
    }

    @Test("the pipelined stream split in two at every offset decodes to the same replies")
    func splitAtEveryOffset() {
        let bytes = pipelined.bytes
        for split in 0...bytes.count {
            var decoder = RESPTokenDecoder()
            var buffer = ByteBuffer(bytes: Array(bytes[..<split]))
            var run = DecodeRun()
            drain(&buffer, with: &decoder, into: &run)
            buffer.writeBytes(bytes[split...])
            drain(&buffer, with: &decoder, into: &run)
            #expect(run.error == nil, "split at \(split)")
            #expect(run.leftover == 0, "split at \(split)")
            #expect(equivalent(run.values, pipelined.values), "split at \(split)")
        }
    }

    @Test("the pipelined stream fed in chunks of every size decodes to the same replies")
    func chunked() {
        let bytes = pipelined.bytes
        for chunkSize in [1, 2, 3, 5, 7, 13, 64, 1000] {
            var decoder = RESPTokenDecoder()
            var buffer = ByteBuffer()
            var run = DecodeRun()
            var start = 0
            while start < bytes.count {
                let end = min(start + chunkSize, bytes.count)
                buffer.writeBytes(bytes[start..<end])
                drain(&buffer, with: &decoder, into: &run)
                start = end
            }
            #expect(run.error == nil, "chunk size \(chunkSize)")
            #expect(run.leftover == 0, "chunk size \(chunkSize)")
            #expect(equivalent(run.values, pipelined.values), "chunk size \(chunkSize)")
        }
    }

    @Test("a buffer whose reader index is not at zero decodes the same")
    func nonZeroReaderIndex() throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(string: "junk*2\r\n+a\r\n:1\r\n")
        buffer.moveReaderIndex(forwardBy: 4)
        let token = try #require(try decoder.decode(from: &buffer))
        #expect(RESPValue(token) == .array([.simpleString("a"), .integer(1)]))
    }

    @Test("a decoded token keeps its bytes after the buffer is reused")
    func tokenOutlivesBuffer() throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(string: "$5\r\nhello\r\n")
        let token = try #require(try decoder.decode(from: &buffer))
        buffer.clear()
        buffer.writeString("$5\r\nWORLD\r\n")
        #expect(RESPValue(token) == .bulkString("hello"))
    }

    @Test(
        "an unterminated line fails on the byte that breaks a limit, whether fed whole or in pieces",
        arguments: [
            (RESPLimits(maxLineLength: 8), "+123456789", RESPParseError.Code.lineLengthLimitExceeded),
            (RESPLimits(maxReplyBytes: 16), "+" + String(repeating: "a", count: 14), .replyBytesLimitExceeded),
        ]
    )
    func unterminatedLineFailsOnTheBreakingByte(_ limits: RESPLimits, _ text: String, _ code: RESPParseError.Code) throws {
        let bytes = wire(text)
        #expect(decodeError(bytes, limits: limits)?.code == code)
        #expect(decodeError(Array(bytes.dropLast()), limits: limits) == nil)

        // The decoder skips rescanning until the buffer holds as many bytes as the last scan
        // needed; with no CR yet that must be one more byte, not a CR and LF.
        var decoder = RESPTokenDecoder(limits: limits)
        var buffer = ByteBuffer(bytes: Array(bytes.dropLast()))
        #expect(try decoder.decode(from: &buffer) == nil)
        buffer.writeBytes(bytes.suffix(1))
        #expect(throws: RESPParseError.self) { try decoder.decode(from: &buffer) }
    }
}
