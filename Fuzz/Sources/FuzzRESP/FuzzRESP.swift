// libFuzzer entry point for the RESP decoder. Built only by scripts/fuzz.sh, with
// `-sanitize=fuzzer,address`: libFuzzer supplies `main`, so this target has no `@main`.
//
// For every input it decodes the bytes whole, split in two at a point derived from the input and
// (for short inputs) one byte at a time, walks every token it gets, and traps when an invariant
// breaks:
// - the three ways of feeding the bytes yield the same values, error and leftover bytes;
// - returning nil or throwing never consumes a byte; a token consumes exactly its own bytes;
// - a token's bytes decode again to the same token;
// - an aggregate yields exactly the number of elements it announces;
// - re-encoding the decoded `RESPValue` and decoding that gives an equal value (nan equals nan).

import NIOCore
import RESP

/// Small limits, so that the fuzzer reaches every limit with inputs of a few KiB.
private let limits = RESPLimits(
    maxBulkLength: 4096,
    maxAggregateCount: 1024,
    maxDepth: 16,
    maxReplyBytes: 1 << 20,
    maxLineLength: 512
)

/// Inputs up to this size are also fed one byte at a time (quadratic in the size).
private let byteAtATimeMaxSize = 256

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("FuzzRESP invariant broken: \(message())") }
}

/// Everything one way of feeding the input produced.
private struct Outcome {
    var values: [RESPValue] = []
    var error: RESPParseError?
    var leftover = 0
}

/// Decodes from `buffer` until nil or an error, checking every call.
private func drain(_ buffer: inout ByteBuffer, _ decoder: inout RESPTokenDecoder, _ outcome: inout Outcome) {
    while outcome.error == nil {
        let readerIndex = buffer.readerIndex
        let readable = buffer.readableBytes
        do {
            guard let token = try decoder.decode(from: &buffer) else {
                check(buffer.readerIndex == readerIndex && buffer.readableBytes == readable, "nil consumed bytes")
                break
            }
            check(token.bytes.readableBytes == readable - buffer.readableBytes, "token size differs from bytes consumed")
            check(token.bytes.readableBytes > 0, "empty token")
            outcome.values.append(examine(token))
        } catch {
            check(buffer.readerIndex == readerIndex && buffer.readableBytes == readable, "an error consumed bytes")
            outcome.error = error
        }
    }
    outcome.leftover = buffer.readableBytes
}

/// Walks a token fully, checks it, and returns its owned value.
private func examine(_ token: RESPToken) -> RESPValue {
    walk(token, depth: 0)

    // The token's own bytes are one complete reply.
    var again = token.bytes
    var decoder = RESPTokenDecoder(limits: limits)
    do {
        let copy = try decoder.decode(from: &again)
        check(copy == token && again.readableBytes == 0, "a token's bytes do not decode to the same token")
    } catch {
        check(false, "a token's bytes fail to decode: \(error)")
    }

    let value = RESPValue(token)
    checkReencoding(value)
    return value
}

private func walk(_ token: RESPToken, depth: Int) {
    // An attribute and its value count one level each; anything deeper was not validated.
    check(depth <= 2 * limits.maxDepth + 2, "nesting deeper than the limit allows")
    _ = token.isPush
    _ = token.isError
    if let attributes = token.attributes {
        var pairs = 0
        for (key, value) in attributes {
            walk(key, depth: depth + 1)
            walk(value, depth: depth + 1)
            pairs += 1
        }
        check(pairs == attributes.count, "attribute map yields \(pairs) of \(attributes.count) pairs")
    }
    switch token.value {
    case .simpleString(let line), .simpleError(let line), .bigNumber(let line):
        check(!line.readableBytesView.contains(UInt8(ascii: "\r")), "a line holds CR")
        check(line.readableBytes <= limits.maxLineLength, "a line is longer than the limit")
    case .bulkString(let payload), .bulkError(let payload):
        check(payload.readableBytes <= limits.maxBulkLength, "a bulk payload is longer than the limit")
    case .verbatimString(let format, let payload):
        check(format.readableBytes == 3, "a verbatim format is not three bytes")
        check(payload.readableBytes + 4 <= limits.maxBulkLength, "a verbatim payload is longer than the limit")
    case .array(let elements), .set(let elements), .push(let elements):
        check(elements.count <= limits.maxAggregateCount, "an aggregate is larger than the limit")
        var count = 0
        for element in elements {
            walk(element, depth: depth + 1)
            count += 1
        }
        check(count == elements.count, "an aggregate yields \(count) of \(elements.count) elements")
    case .map(let pairs):
        var count = 0
        for (key, value) in pairs {
            walk(key, depth: depth + 1)
            walk(value, depth: depth + 1)
            count += 1
        }
        check(count == pairs.count, "a map yields \(count) of \(pairs.count) pairs")
    case .integer, .null, .boolean, .double:
        break
    }
}

/// Encodes `value` as RESP3 and decodes it back; the result must equal `value`.
private func checkReencoding(_ value: RESPValue) {
    var buffer = ByteBuffer()
    value.encode(into: &buffer)
    // Re-encoding can grow a value (`$-1` stays small, but `,1e9` becomes `,1000000000.0`), so
    // decode it with the default limits.
    var decoder = RESPTokenDecoder()
    do {
        guard let token = try decoder.decode(from: &buffer) else {
            check(false, "a re-encoded value is incomplete")
            return
        }
        check(buffer.readableBytes == 0, "a re-encoded value has trailing bytes")
        let decoded = RESPValue(token)
        check(equivalent(decoded, value), "re-encoding changed \(value) into \(decoded)")
    } catch {
        check(false, "a re-encoded value fails to decode: \(error) (value \(value))")
    }
}

/// Structural equality in which every `nan` equals every other `nan`.
private func equivalent(_ a: RESPValue, _ b: RESPValue) -> Bool {
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

private func equivalent(_ a: [RESPValue], _ b: [RESPValue]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { equivalent($0, $1) }
}

private func equivalent(_ a: [RESPValue.Pair], _ b: [RESPValue.Pair]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { equivalent($0.key, $1.key) && equivalent($0.value, $1.value) }
}

private func sameOutcome(_ a: Outcome, _ b: Outcome) -> Bool {
    a.error == b.error && a.leftover == b.leftover && equivalent(a.values, b.values)
}

/// Feeds `bytes` in consecutive chunks ending at `cuts` (ascending), then the rest.
private func decode(_ bytes: UnsafeBufferPointer<UInt8>, cuts: [Int]) -> Outcome {
    var decoder = RESPTokenDecoder(limits: limits)
    var buffer = ByteBuffer()
    var outcome = Outcome()
    var start = 0
    for end in cuts + [bytes.count] where outcome.error == nil {
        buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        start = end
        drain(&buffer, &decoder, &outcome)
    }
    // Stopped early on an error: the rest of the input would never be read.
    outcome.leftover += bytes.count - start
    return outcome
}

/// The libFuzzer entry point: checks every invariant on one input. Always returns 0.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let whole = decode(bytes, cuts: [])

    // A split point that depends on the input but not only on its first bytes.
    var hash = UInt64(size)
    for byte in bytes.prefix(8) { hash = hash &* 31 &+ UInt64(byte) }
    let split = size == 0 ? 0 : Int(hash % UInt64(size + 1))
    let halves = decode(bytes, cuts: [split])
    check(sameOutcome(whole, halves), "split at \(split) of \(size) decodes differently: \(whole) vs \(halves)")

    if size <= byteAtATimeMaxSize {
        let single = decode(bytes, cuts: Array(0..<size))
        check(sameOutcome(whole, single), "byte at a time decodes differently: \(whole) vs \(single)")
    }
    return 0
}
