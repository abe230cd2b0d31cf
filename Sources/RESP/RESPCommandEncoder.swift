public import NIOCore

/// Something that can be written as one or more arguments of a Redis command.
///
/// Each conformer says how many bulk strings it contributes (an absent optional contributes none,
/// an option such as `EX 10` contributes two), so a command's array header can be written before
/// its arguments with no intermediate array.
public protocol RESPArgument {
    /// How many bulk strings ``encode(into:)`` writes.
    var respArgumentCount: Int { get }
    /// Writes this value's bulk strings.
    func encode(into encoder: inout RESPCommandEncoder)
}

/// Writes Redis commands straight into a `ByteBuffer` as RESP arrays of bulk strings.
public struct RESPCommandEncoder: Sendable {
    /// The bytes written so far.
    public var buffer: ByteBuffer

    /// Creates an encoder appending to `buffer`.
    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Writes one command: its name followed by all argument bulk strings.
    @inlinable
    public mutating func encode<each Argument: RESPArgument>(_ name: StaticString, _ arguments: repeat each Argument) {
        var count = 1
        for argument in repeat each arguments { count += argument.respArgumentCount }
        writeCommandHeader(count, name)
        for argument in repeat each arguments { argument.encode(into: &self) }
    }

    /// Writes a command given as a list of arguments, the first being the command name.
    public mutating func encode(arguments: [some RESPArgument]) {
        var count = 0
        for argument in arguments { count += argument.respArgumentCount }
        writeArrayHeader(count)
        for argument in arguments { argument.encode(into: &self) }
    }

    // Every write below reserves its whole frame once and fills it through one pointer. Each
    // `ByteBuffer` call costs a uniqueness check, a capacity check and runtime exclusivity
    // checks on its storage, so a bulk string written piecewise (marker, digits, CRLF, payload,
    // CRLF) paid for them five times; see docs/profiling.md.

    /// Writes `*count\r\n`.
    @inlinable
    public mutating func writeArrayHeader(_ count: Int) {
        let digits = Self.decimalDigitCount(count)
        let total = digits + 3
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            let base = out.baseAddress!
            Self.put(header: UInt8(ascii: "*"), count, digits: digits, at: base)
            return total
        }
    }

    /// Writes `*count\r\n` followed by the bulk string `name`, in one write.
    @inlinable
    mutating func writeCommandHeader(_ count: Int, _ name: StaticString) {
        name.withUTF8Buffer { name in
            let countDigits = Self.decimalDigitCount(count)
            let length = name.count
            let lengthDigits = Self.decimalDigitCount(length)
            let total = countDigits + 3 + lengthDigits + 3 + length + 2
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
                let base = out.baseAddress!
                var offset = Self.put(header: UInt8(ascii: "*"), count, digits: countDigits, at: base)
                offset += Self.put(header: UInt8(ascii: "$"), length, digits: lengthDigits, at: base + offset)
                if let address = name.baseAddress { (base + offset).copyMemory(from: address, byteCount: length) }
                Self.putCRLF(at: base + offset + length)
                return total
            }
        }
    }

    /// Writes a bulk string from raw bytes.
    @inlinable
    public mutating func writeBulk(_ bytes: some Collection<UInt8>) {
        let length = bytes.count
        let digits = Self.decimalDigitCount(length)
        let total = digits + 3 + length + 2
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            let base = out.baseAddress!
            let offset = Self.put(header: UInt8(ascii: "$"), length, digits: digits, at: base)
            let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
                if let address = source.baseAddress { (base + offset).copyMemory(from: address, byteCount: length) }
            }
            if copied == nil {
                var index = offset
                for byte in bytes {
                    base.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
                    index += 1
                }
            }
            Self.putCRLF(at: base + offset + length)
            return total
        }
    }

    /// Writes a bulk string from a static string (command names and option keywords).
    @inlinable
    public mutating func writeBulk(_ string: StaticString) {
        string.withUTF8Buffer { writeBulk($0) }
    }

    /// Writes a bulk string from a String's UTF-8 bytes.
    @inlinable
    public mutating func writeBulk(_ string: String) {
        let length = string.utf8.count
        let digits = Self.decimalDigitCount(length)
        let total = digits + 3 + length + 2
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            let base = out.baseAddress!
            let offset = Self.put(header: UInt8(ascii: "$"), length, digits: digits, at: base)
            let copied: Void? = string.utf8.withContiguousStorageIfAvailable { source in
                if let address = source.baseAddress { (base + offset).copyMemory(from: address, byteCount: length) }
            }
            if copied == nil {
                var index = offset
                for byte in string.utf8 {
                    base.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
                    index += 1
                }
            }
            Self.putCRLF(at: base + offset + length)
            return total
        }
    }

    /// Writes a bulk string from a buffer's readable bytes.
    @inlinable
    public mutating func writeBulk(_ bytes: ByteBuffer) {
        let length = bytes.readableBytes
        let digits = Self.decimalDigitCount(length)
        let total = digits + 3 + length + 2
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            let base = out.baseAddress!
            let offset = Self.put(header: UInt8(ascii: "$"), length, digits: digits, at: base)
            bytes.withUnsafeReadableBytes { source in
                if let address = source.baseAddress { (base + offset).copyMemory(from: address, byteCount: length) }
            }
            Self.putCRLF(at: base + offset + length)
            return total
        }
    }

    /// Writes an integer as a bulk string of its decimal digits.
    @inlinable
    public mutating func writeBulk(_ value: Int) {
        let length = Self.decimalDigitCount(value)
        let digits = Self.decimalDigitCount(length)
        let total = digits + 3 + length + 2
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            let base = out.baseAddress!
            let offset = Self.put(header: UInt8(ascii: "$"), length, digits: digits, at: base)
            Self.put(decimal: value, digits: length, at: base + offset)
            Self.putCRLF(at: base + offset + length)
            return total
        }
    }

    /// Writes a decimal integer with no allocation.
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        let count = Self.decimalDigitCount(value)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
            Self.put(decimal: value, digits: count, at: out.baseAddress!)
            return count
        }
    }

    /// Stores `marker`, the decimal `value` (`digits` long) and CRLF at `pointer`; returns the
    /// bytes stored.
    @inlinable @inline(__always) @discardableResult
    static func put(header marker: UInt8, _ value: Int, digits: Int, at pointer: UnsafeMutableRawPointer) -> Int {
        pointer.storeBytes(of: marker, as: UInt8.self)
        put(decimal: value, digits: digits, at: pointer + 1)
        putCRLF(at: pointer + 1 + digits)
        return digits + 3
    }

    /// Stores `\r\n` at `pointer`.
    @inlinable @inline(__always)
    static func putCRLF(at pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: UInt8(ascii: "\r"), as: UInt8.self)
        pointer.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: 1, as: UInt8.self)
    }

    /// Stores the decimal digits of `value` (`digits` bytes, a leading `-` included) at `pointer`.
    @inlinable @inline(__always)
    static func put(decimal value: Int, digits: Int, at pointer: UnsafeMutableRawPointer) {
        var magnitude = value.magnitude
        var index = digits - 1
        repeat {
            pointer.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10), toByteOffset: index, as: UInt8.self)
            magnitude /= 10
            index -= 1
        } while magnitude > 0
        if value < 0 { pointer.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self) }
    }

    @inlinable
    static func decimalDigitCount(_ value: Int) -> Int {
        var magnitude = value.magnitude
        var count = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            count += 1
        }
        return count
    }
}

extension String: RESPArgument {
    /// One bulk string.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the UTF-8 bytes as one bulk string.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) { encoder.writeBulk(self) }
}

extension Substring: RESPArgument {
    /// One bulk string.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the UTF-8 bytes as one bulk string.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) { encoder.writeBulk(self.utf8) }
}

extension ByteBuffer: RESPArgument {
    /// One bulk string.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the readable bytes as one bulk string.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) { encoder.writeBulk(self) }
}

extension Int: RESPArgument {
    /// One bulk string.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the decimal digits as one bulk string.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) { encoder.writeBulk(self) }
}

extension Double: RESPArgument {
    /// One bulk string.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the shortest round-tripping decimal (`inf`, `-inf` for infinities) as one bulk string.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) {
        if isInfinite { encoder.writeBulk(self < 0 ? "-inf" : "inf" as StaticString) } else { encoder.writeBulk("\(self)") }
    }
}

extension Array: RESPArgument where Element: RESPArgument {
    /// The sum of the elements' counts.
    @inlinable public var respArgumentCount: Int { reduce(0) { $0 + $1.respArgumentCount } }
    /// Writes every element in order.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) {
        for element in self { element.encode(into: &encoder) }
    }
}

extension Optional: RESPArgument where Wrapped: RESPArgument {
    /// Zero when absent, otherwise the wrapped value's count.
    @inlinable public var respArgumentCount: Int { self?.respArgumentCount ?? 0 }
    /// Writes the wrapped value, or nothing.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) { self?.encode(into: &encoder) }
}

/// A keyword argument such as `NX` or `KEEPTTL`.
public struct RESPKeyword: RESPArgument, Sendable {
    @usableFromInline let name: StaticString
    /// Creates a keyword.
    @inlinable public init(_ name: StaticString) { self.name = name }
    /// One bulk string.
    @inlinable public var respArgumentCount: Int { 1 }
    /// Writes the keyword.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) { encoder.writeBulk(name) }
}

/// A keyword followed by its value, such as `EX 10` or `MATCH user:*`.
public struct RESPOption<Value: RESPArgument>: RESPArgument {
    @usableFromInline let name: StaticString
    @usableFromInline let value: Value
    /// Creates an option.
    @inlinable public init(_ name: StaticString, _ value: Value) {
        self.name = name
        self.value = value
    }
    /// The keyword plus the value's count.
    @inlinable public var respArgumentCount: Int { 1 + value.respArgumentCount }
    /// Writes the keyword, then the value.
    @inlinable public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.writeBulk(name)
        value.encode(into: &encoder)
    }
}

extension RESPOption: Sendable where Value: Sendable {}
