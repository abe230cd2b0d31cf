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
        writeArrayHeader(count)
        writeBulk(name)
        for argument in repeat each arguments { argument.encode(into: &self) }
    }

    /// Writes a command given as a list of arguments, the first being the command name.
    public mutating func encode(arguments: [some RESPArgument]) {
        var count = 0
        for argument in arguments { count += argument.respArgumentCount }
        writeArrayHeader(count)
        for argument in arguments { argument.encode(into: &self) }
    }

    /// Writes `*count\r\n`.
    @inlinable
    public mutating func writeArrayHeader(_ count: Int) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(count)
        buffer.writeInteger(UInt16(0x0D0A))
    }

    /// Writes a bulk string from raw bytes.
    @inlinable
    public mutating func writeBulk(_ bytes: some Collection<UInt8>) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(bytes.count)
        buffer.writeInteger(UInt16(0x0D0A))
        buffer.writeBytes(bytes)
        buffer.writeInteger(UInt16(0x0D0A))
    }

    /// Writes a bulk string from a static string (command names and option keywords).
    @inlinable
    public mutating func writeBulk(_ string: StaticString) {
        string.withUTF8Buffer { writeBulk($0) }
    }

    /// Writes a bulk string from a String's UTF-8 bytes.
    @inlinable
    public mutating func writeBulk(_ string: String) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(string.utf8.count)
        buffer.writeInteger(UInt16(0x0D0A))
        buffer.writeString(string)
        buffer.writeInteger(UInt16(0x0D0A))
    }

    /// Writes a bulk string from a buffer's readable bytes.
    @inlinable
    public mutating func writeBulk(_ bytes: ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(bytes.readableBytes)
        buffer.writeInteger(UInt16(0x0D0A))
        buffer.writeImmutableBuffer(bytes)
        buffer.writeInteger(UInt16(0x0D0A))
    }

    /// Writes an integer as a bulk string of its decimal digits.
    @inlinable
    public mutating func writeBulk(_ value: Int) {
        let digits = Self.decimalDigitCount(value)
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(digits)
        buffer.writeInteger(UInt16(0x0D0A))
        writeDecimal(value)
        buffer.writeInteger(UInt16(0x0D0A))
    }

    /// Writes a decimal integer with no allocation.
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        if value >= 0, value < 10 {
            buffer.writeInteger(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        let count = Self.decimalDigitCount(value)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            var magnitude = value.magnitude
            var index = count - 1
            repeat {
                pointer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                index -= 1
            } while magnitude > 0
            if value < 0 { pointer[0] = UInt8(ascii: "-") }
            return count
        }
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
