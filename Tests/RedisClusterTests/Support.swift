import NIOCore
import RESP
import Redis
import Testing

/// Encodes a value (RESP3 wire form) and decodes it back into a token, as a connection would.
func token(_ value: RESPValue) throws -> RESPToken {
    var buffer = ByteBuffer()
    value.encode(into: &buffer)
    var decoder = RESPTokenDecoder()
    return try #require(try decoder.decode(from: &buffer))
}

/// A bulk string.
func bulk(_ text: String) -> RESPValue { .bulkString(text) }

/// The manual clock: the instant `milliseconds` after an arbitrary origin.
func ms(_ milliseconds: Int64) -> NIODeadline {
    .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000)
}

/// A fake 40-character node id.
func nodeID(_ n: Int) -> String { String(repeating: String(n % 10), count: 40) }

/// An endpoint on 127.0.0.1.
func local(_ port: Int) -> RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

/// A slot range from numbers.
func slots(_ range: ClosedRange<Int>) -> ClosedRange<HashSlot> { HashSlot(range.lowerBound)!...HashSlot(range.upperBound)! }
