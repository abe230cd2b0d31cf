// The scanner finds where one RESP value ends without building anything. It is the single place
// that reads lengths and counts from the wire, so every limit is enforced here, before any byte of
// the announced payload is waited for. Decoding a reply is: scan it once (validating everything),
// then slice it out of the buffer as a `RESPToken`; later reads of that token re-walk the same
// bytes knowing they are valid.

enum RESPTypeByte {
    static let simpleString = UInt8(ascii: "+")
    static let simpleError = UInt8(ascii: "-")
    static let integer = UInt8(ascii: ":")
    static let bulkString = UInt8(ascii: "$")
    static let array = UInt8(ascii: "*")
    static let null = UInt8(ascii: "_")
    static let boolean = UInt8(ascii: "#")
    static let double = UInt8(ascii: ",")
    static let bigNumber = UInt8(ascii: "(")
    static let bulkError = UInt8(ascii: "!")
    static let verbatimString = UInt8(ascii: "=")
    static let map = UInt8(ascii: "%")
    static let set = UInt8(ascii: "~")
    static let attribute = UInt8(ascii: "|")
    static let push = UInt8(ascii: ">")
}

private let cr = UInt8(ascii: "\r")
private let lf = UInt8(ascii: "\n")
private let minus = UInt8(ascii: "-")
private let plusSign = UInt8(ascii: "+")
private let zero = UInt8(ascii: "0")
private let nine = UInt8(ascii: "9")

struct RESPScanner: ~Copyable {
    /// The outcome of scanning from the start of the bytes.
    enum Outcome: Equatable {
        /// One complete value occupies `bytes[0..<end]`.
        case complete(end: Int)
        /// The value is not complete; nothing can change (no completion, no error) until at
        /// least `needAtLeast` bytes exist.
        case incomplete(needAtLeast: Int)
    }

    private let bytes: UnsafeRawBufferPointer
    private let limits: RESPLimits
    private var position = 0
    /// Set when the scan ran out of bytes; the lower bound of bytes the reply occupies.
    private var needAtLeast = 0
    /// Set with `needAtLeast`; how many bytes must exist before a rescan can end differently.
    /// Smaller than `needAtLeast` when the next byte alone can decide (see `readLine`).
    private var rescanAt = 0

    init(bytes: UnsafeRawBufferPointer, limits: RESPLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// Scans one value from the start of `bytes`.
    mutating func scan() throws(RESPParseError) -> Outcome {
        if try skipValue(depth: 0) {
            if position > limits.maxReplyBytes { throw error(.replyBytesLimitExceeded, at: 0) }
            return .complete(end: position)
        }
        if needAtLeast > limits.maxReplyBytes { throw error(.replyBytesLimitExceeded, at: 0) }
        return .incomplete(needAtLeast: rescanAt)
    }

    private func error(_ code: RESPParseError.Code, at offset: Int) -> RESPParseError {
        RESPParseError(code: code, offset: offset)
    }

    private mutating func needMore(_ count: Int) -> Bool {
        needAtLeast = count
        rescanAt = count
        return false
    }

    /// Returns false when more bytes are needed.
    private mutating func skipValue(depth: Int) throws(RESPParseError) -> Bool {
        guard position < bytes.count else { return needMore(position + 1) }
        let start = position
        let type = bytes[position]
        position += 1
        switch type {
        case RESPTypeByte.simpleString, RESPTypeByte.simpleError:
            return try readLine() != nil
        case RESPTypeByte.integer:
            guard let line = try readLine() else { return false }
            guard parseInteger(line) != nil else { throw error(.invalidInteger, at: line.lowerBound) }
            return true
        case RESPTypeByte.null:
            guard let line = try readLine() else { return false }
            guard line.isEmpty else { throw error(.missingCRLF, at: line.lowerBound) }
            return true
        case RESPTypeByte.boolean:
            guard let line = try readLine() else { return false }
            guard line.count == 1, bytes[line.lowerBound] == UInt8(ascii: "t") || bytes[line.lowerBound] == UInt8(ascii: "f")
            else { throw error(.invalidBoolean, at: line.lowerBound) }
            return true
        case RESPTypeByte.double:
            guard let line = try readLine() else { return false }
            guard Self.parseDouble(UnsafeRawBufferPointer(rebasing: bytes[line])) != nil
            else { throw error(.invalidDouble, at: line.lowerBound) }
            return true
        case RESPTypeByte.bigNumber:
            guard let line = try readLine() else { return false }
            guard isBigNumber(line) else { throw error(.invalidBigNumber, at: line.lowerBound) }
            return true
        case RESPTypeByte.bulkString, RESPTypeByte.bulkError, RESPTypeByte.verbatimString:
            guard let length = try readLength(allowNull: type == RESPTypeByte.bulkString) else { return false }
            if length < 0 { return true }
            guard length <= limits.maxBulkLength else { throw error(.bulkLengthLimitExceeded, at: start) }
            if type == RESPTypeByte.verbatimString, length < 4 { throw error(.invalidVerbatim, at: start) }
            let payloadStart = position
            // `length` can be close to Int.max when a caller lifts `maxBulkLength`: compare and
            // add without overflowing (needing more than Int.max bytes saturates).
            guard bytes.count - payloadStart - 2 >= length else {
                let (needed, overflow) = (payloadStart + 2).addingReportingOverflow(length)
                return needMore(overflow ? .max : needed)
            }
            if type == RESPTypeByte.verbatimString, bytes[payloadStart + 3] != UInt8(ascii: ":") {
                throw error(.invalidVerbatim, at: payloadStart)
            }
            guard bytes[payloadStart + length] == cr, bytes[payloadStart + length + 1] == lf
            else { throw error(.missingCRLF, at: payloadStart + length) }
            position = payloadStart + length + 2
            return true
        case RESPTypeByte.array, RESPTypeByte.set, RESPTypeByte.push, RESPTypeByte.map, RESPTypeByte.attribute:
            guard let count = try readLength(allowNull: type == RESPTypeByte.array) else { return false }
            if count < 0 { return true }
            let isPaired = type == RESPTypeByte.map || type == RESPTypeByte.attribute
            guard count <= (isPaired ? limits.maxAggregateCount / 2 : limits.maxAggregateCount)
            else { throw error(.aggregateCountLimitExceeded, at: start) }
            guard depth < limits.maxDepth else { throw error(.depthLimitExceeded, at: start) }
            let elements = isPaired ? count * 2 : count
            for _ in 0..<elements {
                guard try skipValue(depth: depth + 1) else { return false }
            }
            // An attribute map annotates the value that follows it; both form one reply.
            if type == RESPTypeByte.attribute {
                return try skipValue(depth: depth + 1)
            }
            return true
        default:
            throw error(.invalidTypeByte, at: start)
        }
    }

    /// Reads a line up to CRLF; returns the content range, or nil when the CRLF has not arrived.
    private mutating func readLine() throws(RESPParseError) -> Range<Int>? {
        let start = position
        var index = start
        let end = bytes.count
        while index < end, bytes[index] != cr {
            index += 1
        }
        if index - start > limits.maxLineLength { throw error(.lineLengthLimitExceeded, at: start) }
        guard index + 1 < end else {
            needAtLeast = index + 2
            // With no CR yet, the very next byte can already decide: a non-CR byte may push the
            // line past `maxLineLength`, or the reply's size past `maxReplyBytes`. Waiting for
            // the CR and LF would make the decoder return nil where a scan of the same bytes
            // throws.
            rescanAt = index == end ? index + 1 : index + 2
            return nil
        }
        guard bytes[index + 1] == lf else { throw error(.missingCRLF, at: index) }
        position = index + 2
        return start..<index
    }

    /// Reads a length or count line. Returns -1 for a RESP2 null when allowed.
    private mutating func readLength(allowNull: Bool) throws(RESPParseError) -> Int? {
        let lineStart = position
        guard let line = try readLine() else { return nil }
        if line.count == 1, bytes[line.lowerBound] == UInt8(ascii: "?") {
            throw error(.unsupportedStreamedType, at: lineStart)
        }
        guard let value = parseInteger(line) else { throw error(.invalidInteger, at: lineStart) }
        if value == -1, allowNull { return -1 }
        guard value >= 0 else { throw error(.invalidLength, at: lineStart) }
        return value
    }

    private func parseInteger(_ range: Range<Int>) -> Int? {
        Self.parseInteger(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    /// Parses an optional `-` and 1...19 digits into an `Int`, refusing overflow.
    static func parseInteger(_ digits: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        var negative = false
        if digits.count > 0, digits[0] == minus {
            negative = true
            index = 1
        }
        guard index < digits.count else { return nil }
        var value = 0
        while index < digits.count {
            let byte = digits[index]
            guard byte >= zero, byte <= nine else { return nil }
            let digit = Int(byte &- zero)
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative
                ? multiplied.subtractingReportingOverflow(digit)
                : multiplied.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// Parses a RESP3 double: a decimal with optional exponent, or `inf`, `-inf`, `nan`.
    static func parseDouble(_ text: UnsafeRawBufferPointer) -> Double? {
        guard !text.isEmpty, text.count <= 512 else { return nil }
        // Refuse whitespace and anything Swift's parser would accept that RESP does not (hex floats).
        for byte in text {
            switch byte {
            case zero...nine, minus, plusSign, UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "f"), UInt8(ascii: "a"):
                continue
            default:
                return nil
            }
        }
        return Double(String(decoding: text, as: UTF8.self))
    }

    private func isBigNumber(_ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        if index < range.upperBound, bytes[index] == minus || bytes[index] == plusSign { index += 1 }
        guard index < range.upperBound else { return false }
        while index < range.upperBound {
            guard bytes[index] >= zero, bytes[index] <= nine else { return false }
            index += 1
        }
        return true
    }
}
