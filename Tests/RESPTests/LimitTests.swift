import NIOCore
import RESP
import Testing

/// `count` arrays of one element nested inside each other, around `:1`.
private func nestedArrays(_ count: Int) -> [UInt8] {
    wire(String(repeating: "*1\r\n", count: count) + ":1\r\n")
}

@Suite("Enforcing limits")
struct LimitTests {
    @Test("a huge array count fails at once, without waiting for its elements")
    func hugeArrayCount() {
        let run = decodeAll(wire("*4294967295\r\n"))
        #expect(run.error?.code == .aggregateCountLimitExceeded)
        #expect(run.error?.offset == 0)
        #expect(run.leftover == 13)
    }

    @Test("a huge bulk length fails at once, without waiting for its payload")
    func hugeBulkLength() {
        #expect(decodeError(wire("$9999999999\r\n"))?.code == .bulkLengthLimitExceeded)
        #expect(decodeError(wire("!9999999999\r\n"))?.code == .bulkLengthLimitExceeded)
        #expect(decodeError(wire("=9999999999\r\n"))?.code == .bulkLengthLimitExceeded)
    }

    @Test("a huge announcement nested in an aggregate fails at once")
    func hugeNestedAnnouncement() {
        #expect(decodeError(wire("*2\r\n:1\r\n$9999999999\r\n"))?.code == .bulkLengthLimitExceeded)
        #expect(decodeError(wire("%1\r\n+k\r\n~4294967295\r\n"))?.code == .aggregateCountLimitExceeded)
    }

    @Test("the default limits accept a large count whose elements have not arrived")
    func largeButAllowedCountWaits() {
        let run = decodeAll(wire("*16777216\r\n"))
        #expect(run.error == nil)
        #expect(run.values.isEmpty)
        #expect(run.leftover == 11)
        #expect(decodeError(wire("*16777217\r\n"))?.code == .aggregateCountLimitExceeded)
    }

    @Test("maps and attributes count each pair twice against the aggregate limit")
    func pairedCounts() {
        let limits = RESPLimits(maxAggregateCount: 4)
        #expect(decodeError(wire("%2\r\n"), limits: limits) == nil)
        #expect(decodeError(wire("%3\r\n"), limits: limits)?.code == .aggregateCountLimitExceeded)
        #expect(decodeError(wire("|2\r\n"), limits: limits) == nil)
        #expect(decodeError(wire("|3\r\n"), limits: limits)?.code == .aggregateCountLimitExceeded)
    }

    @Test("every aggregate type respects a small count limit", arguments: ["*", "~", ">"])
    func smallAggregateLimit(_ marker: String) {
        let limits = RESPLimits(maxAggregateCount: 4)
        let allowed = decodeAll(wire("\(marker)4\r\n:1\r\n:2\r\n:3\r\n:4\r\n"), limits: limits)
        #expect(allowed.error == nil)
        #expect(allowed.values.count == 1)
        #expect(decodeError(wire("\(marker)5\r\n"), limits: limits)?.code == .aggregateCountLimitExceeded)
    }

    @Test("every blob type respects a small bulk limit", arguments: ["$", "!", "="])
    func smallBulkLimit(_ marker: String) {
        let limits = RESPLimits(maxBulkLength: 10)
        let allowed = decodeAll(wire("\(marker)10\r\ntxt:567890\r\n"), limits: limits)
        #expect(allowed.error == nil)
        #expect(allowed.values.count == 1)
        #expect(decodeError(wire("\(marker)11\r\n"), limits: limits)?.code == .bulkLengthLimitExceeded)
    }

    @Test("64 nested arrays decode with the default limits")
    func depthAtLimit() throws {
        let run = decodeAll(nestedArrays(64))
        #expect(run.error == nil)
        var value = try #require(run.values.first)
        var depth = 0
        while case .array(let elements) = value, let first = elements.first {
            value = first
            depth += 1
        }
        #expect(depth == 64)
        #expect(value == .integer(1))
    }

    @Test("65 nested arrays exceed the default depth limit, before the innermost value arrives")
    func depthOverLimit() {
        // The offset is that of the 65th array header.
        #expect(decodeError(nestedArrays(65)) == RESPParseError(code: .depthLimitExceeded, offset: 64 * 4))
        #expect(decodeError(wire(String(repeating: "*1\r\n", count: 65)))?.code == .depthLimitExceeded)
    }

    @Test("every aggregate type counts towards a custom depth limit", arguments: ["*1\r\n", "~1\r\n", ">1\r\n", "%1\r\n:0\r\n", "|1\r\n:0\r\n:0\r\n"])
    func customDepth(_ level: String) {
        let limits = RESPLimits(maxDepth: 2)
        let inner = ":1\r\n"
        let two = decodeAll(wire("*1\r\n" + level + inner), limits: limits)
        #expect(two.error == nil)
        #expect(two.values.count == 1)
        #expect(decodeError(wire("*1\r\n*1\r\n" + level + inner), limits: limits)?.code == .depthLimitExceeded)
    }

    @Test("a reply larger than maxReplyBytes is rejected")
    func replyBytes() {
        let limits = RESPLimits(maxReplyBytes: 16)
        // 16 bytes exactly is allowed.
        let exact = "+" + String(repeating: "a", count: 13) + "\r\n"
        #expect(decodeAll(wire(exact), limits: limits).values == [.simpleString(String(repeating: "a", count: 13))])
        let over = "+" + String(repeating: "a", count: 14) + "\r\n"
        #expect(decodeError(wire(over), limits: limits)?.code == .replyBytesLimitExceeded)
        // An aggregate whose elements add up to too much.
        let array = "*3\r\n$3\r\nabc\r\n$3\r\nabc\r\n$3\r\nabc\r\n"
        #expect(decodeError(wire(array), limits: limits)?.code == .replyBytesLimitExceeded)
    }

    @Test("a bulk announcement beyond maxReplyBytes fails before its payload arrives")
    func replyBytesAnnouncement() {
        let limits = RESPLimits(maxReplyBytes: 16)
        #expect(decodeError(wire("$20\r\n"), limits: limits)?.code == .replyBytesLimitExceeded)
        #expect(decodeError(wire("*2\r\n$1\r\na\r\n$9\r\n"), limits: limits)?.code == .replyBytesLimitExceeded)
        // An unterminated line that can no longer fit fails too.
        #expect(decodeError(wire("+" + String(repeating: "a", count: 20)), limits: limits)?.code == .replyBytesLimitExceeded)
    }

    @Test("maxReplyBytes applies to each reply, not to the whole buffer")
    func replyBytesPerReply() {
        let limits = RESPLimits(maxReplyBytes: 16)
        let run = decodeAll(wire(String(repeating: "$5\r\nhello\r\n", count: 10)), limits: limits)
        #expect(run.error == nil)
        #expect(run.values.count == 10)
    }

    @Test("a line longer than maxLineLength is rejected, even before its CRLF arrives")
    func lineLength() {
        let limits = RESPLimits(maxLineLength: 8)
        #expect(decodeAll(wire("+12345678\r\n"), limits: limits).values == [.simpleString("12345678")])
        #expect(decodeError(wire("+123456789\r\n"), limits: limits)?.code == .lineLengthLimitExceeded)
        #expect(decodeError(wire("+123456789"), limits: limits)?.code == .lineLengthLimitExceeded)
        #expect(decodeError(wire("-ERR 56789\r\n"), limits: limits)?.code == .lineLengthLimitExceeded)
        #expect(decodeError(wire(":123456789\r\n"), limits: limits)?.code == .lineLengthLimitExceeded)
        #expect(decodeError(wire(",1.2345678\r\n"), limits: limits)?.code == .lineLengthLimitExceeded)
        #expect(decodeError(wire("(123456789\r\n"), limits: limits)?.code == .lineLengthLimitExceeded)
        #expect(decodeError(wire("$000000001\r\n"), limits: limits)?.code == .lineLengthLimitExceeded)
    }

    @Test("maxLineLength does not limit bulk payloads")
    func lineLengthSparesBulk() {
        let limits = RESPLimits(maxLineLength: 8)
        let payload = String(repeating: "x", count: 100)
        #expect(decodeAll(wire("$100\r\n\(payload)\r\n"), limits: limits).values == [.bulkString(payload)])
    }

    @Test("a bulk length near Int.max with an unlimited bulk length hits the reply limit instead of overflowing")
    func bulkLengthNearIntMax() {
        let limits = RESPLimits(maxBulkLength: .max)
        #expect(decodeError(wire("$9223372036854775807\r\n"), limits: limits)?.code == .replyBytesLimitExceeded)
        #expect(decodeError(wire("$9223372036854775806\r\n"), limits: limits)?.code == .replyBytesLimitExceeded)
        #expect(decodeError(wire("=9223372036854775807\r\n"), limits: limits)?.code == .replyBytesLimitExceeded)
    }

    @Test("with every limit lifted, a bulk length near Int.max waits instead of overflowing")
    func everythingUnlimited() {
        let limits = RESPLimits(
            maxBulkLength: .max, maxAggregateCount: .max, maxDepth: .max, maxReplyBytes: .max, maxLineLength: .max
        )
        let run = decodeAll(wire("*2\r\n:1\r\n$9223372036854775807\r\n"), limits: limits)
        #expect(run.error == nil)
        #expect(run.values.isEmpty)
        #expect(decodeError(wire("%9223372036854775807\r\n"), limits: limits)?.code == .aggregateCountLimitExceeded)
    }
}
