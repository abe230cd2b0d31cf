/// A family of cache keys that share a value type, a prefix, a codec and default entry options.
///
/// A namespace is how an application declares "products are cached for five minutes as JSON":
///
/// ```swift
/// let products = CacheNamespace<Product>("product", codec: JSONCacheCodec())
/// let key = products.key(productID)          // CacheKey<Product>
/// ```
///
/// Key parts are percent-encoded, so user input can neither collide with another key (`a:b` + `c`
/// vs `a` + `b:c`) nor inject a Redis Cluster hash tag: the only `{…}` in a storage key is the one
/// Strata adds, which keeps every key belonging to one entry (value, lease, stale copy) in one slot.
public struct CacheNamespace<Value: Sendable>: Sendable {
    /// The namespace name as given (already validated).
    public let name: String
    /// The schema version; bump it when the value's encoding changes incompatibly.
    public let version: Int
    /// How values of this namespace are turned into bytes for the distributed tier.
    public let codec: any CacheCodec<Value>
    /// Entry options used when a call passes none.
    public let defaultOptions: CacheEntryOptions
    /// The source of truth's version of a value (a row version), when values carry one. Fills
    /// then carry it, so an older value can never overwrite a newer one in the distributed tier.
    public let dataVersion: (@Sendable (Value) -> Int64?)?
    /// Tags derived from a loaded or written value (for example `{ ["category:\($0.category)"] }`),
    /// added to the options' tags. Tags that break the rules of ``CacheEntryOptions/tags`` are
    /// dropped (and logged), so keep them short and free of a leading `@`.
    public let tags: (@Sendable (Value) -> [String])?

    let storagePrefix: String
    /// The namespace's own epoch tag, carried by every entry; bumping it clears the namespace.
    let epochTag: String
    /// The epoch tag's cell in the first cache's table that resolved it, so that cache's reads
    /// of entries tagged only with their namespace take no lock and hash nothing.
    let epochCellMemo = NamespaceEpochCellMemo()

    /// Creates a namespace.
    ///
    /// - Parameters:
    ///   - name: a short stable name; letters, digits, `-`, `_` and `.` only.
    ///   - version: part of every storage key, so a new version never reads old bytes.
    ///   - codec: the value codec for the distributed tier.
    ///   - defaultOptions: options for calls that pass none; validated here.
    ///   - dataVersion: reads the source's version from a value (for example `{ $0.version }`).
    ///   - tags: tags derived from a value, for ``StrataCache/invalidate(tag:)``.
    /// - Throws: ``CacheError`` with code `.invalidConfiguration` for a bad name or incoherent options.
    public init(
        _ name: String,
        version: Int = 1,
        codec: any CacheCodec<Value>,
        defaultOptions: CacheEntryOptions = CacheEntryOptions(),
        dataVersion: (@Sendable (Value) -> Int64?)? = nil,
        tags: (@Sendable (Value) -> [String])? = nil
    ) throws(CacheError) {
        guard !name.isEmpty, name.utf8.count <= 64,
            name.utf8.allSatisfy({ CacheKeyEncoding.isNameByte($0) })
        else {
            throw CacheError(.invalidConfiguration, "namespace names use 1-64 letters, digits, '-', '_' or '.'")
        }
        guard version >= 0 else { throw CacheError(.invalidConfiguration, "namespace version must not be negative") }
        try defaultOptions.validate()
        self.name = name
        self.version = version
        self.codec = codec
        self.defaultOptions = defaultOptions
        self.dataVersion = dataVersion
        self.tags = tags
        self.storagePrefix = "\(name):v\(version):"
        self.epochTag = CacheTagRules.namespaceTag(name)
    }

    /// The key for one value, built from its identifying parts in order.
    ///
    /// - Complexity: O(total length of the parts).
    public func key(_ parts: any CacheKeyPart...) -> CacheKey<Value> {
        key(parts: parts)
    }

    /// The key for one value, built from an array of parts.
    public func key(parts: [any CacheKeyPart]) -> CacheKey<Value> {
        var body = ""
        for (index, part) in parts.enumerated() {
            if index > 0 { body.append(":") }
            CacheKeyEncoding.appendEncoded(part.cacheKeyComponent, to: &body)
        }
        return CacheKey(storageKey: "{\(storagePrefix)\(body)}", namespace: self)
    }

    /// The key whose ``CacheKey/storageKey`` is `storageKey`, if it belongs to this namespace and
    /// version; for keys that come back from outside (a published hot-key list).
    ///
    /// Returns `nil` for another namespace, another version, or a malformed encoding.
    /// - Complexity: O(length of the key).
    public func key(storageKey: String) -> CacheKey<Value>? {
        let opening = "{\(storagePrefix)"
        guard storageKey.hasPrefix(opening), storageKey.hasSuffix("}"), storageKey.utf8.count > opening.utf8.count else {
            return nil
        }
        let key = CacheKey(storageKey: storageKey, namespace: self)
        guard key.decodedParts() != nil else { return nil }
        return key
    }
}

/// The key of one cached value; its type parameter fixes the type of that value.
///
/// Two keys are equal when their storage keys are equal. The storage key is what Redis sees:
/// `{<namespace>:v<version>:<encoded parts>}`, a hash tag around the whole key.
public struct CacheKey<Value: Sendable>: Hashable, Sendable, CustomStringConvertible {
    /// The exact string used in every tier.
    public let storageKey: String
    /// The namespace the key belongs to (codec and default options).
    public let namespace: CacheNamespace<Value>

    init(storageKey: String, namespace: CacheNamespace<Value>) {
        self.storageKey = storageKey
        self.namespace = namespace
    }

    public static func == (lhs: CacheKey, rhs: CacheKey) -> Bool { lhs.storageKey == rhs.storageKey }
    public func hash(into hasher: inout Hasher) { hasher.combine(storageKey) }

    /// The parts the key was built from, decoded, as text (`products.key(42).parts == ["42"]`).
    ///
    /// What a warming loader uses to find the record behind a key it did not build. A key built
    /// from no parts has one empty part.
    /// - Complexity: O(length of the key).
    public var parts: [String] { decodedParts() ?? [] }

    func decodedParts() -> [String]? {
        let prefix = namespace.storagePrefix.utf8.count + 1
        let body = storageKey.utf8.dropFirst(prefix).dropLast()
        var parts: [String] = []
        for encoded in body.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false) {
            guard let part = CacheKeyEncoding.decode(encoded) else { return nil }
            parts.append(part)
        }
        return parts
    }

    /// Names the namespace only: keys carry user identifiers and never appear in logs or errors.
    public var description: String { "CacheKey(\(namespace.name))" }
}

/// A value that can identify a cached entry as part of its key.
public protocol CacheKeyPart: Sendable {
    /// The text of this part before Strata encodes it.
    var cacheKeyComponent: String { get }
}

extension String: CacheKeyPart { public var cacheKeyComponent: String { self } }
extension Substring: CacheKeyPart { public var cacheKeyComponent: String { String(self) } }
extension Int: CacheKeyPart { public var cacheKeyComponent: String { String(self) } }
extension Int64: CacheKeyPart { public var cacheKeyComponent: String { String(self) } }
extension UInt64: CacheKeyPart { public var cacheKeyComponent: String { String(self) } }
extension Int32: CacheKeyPart { public var cacheKeyComponent: String { String(self) } }
extension Bool: CacheKeyPart { public var cacheKeyComponent: String { self ? "true" : "false" } }

enum CacheKeyEncoding {
    /// Bytes that never need escaping in a part: unreserved characters of RFC 3986.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
            UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func isNameByte(_ byte: UInt8) -> Bool { isUnreserved(byte) && byte != UInt8(ascii: "~") }

    /// Reverses ``appendEncoded(_:to:)``; `nil` when the bytes are not an encoding it produces.
    static func decode(_ encoded: Substring.UTF8View) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.count)
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let byte = encoded[index]
            if byte == UInt8(ascii: "%") {
                let high = encoded.index(after: index)
                guard high < encoded.endIndex else { return nil }
                let low = encoded.index(after: high)
                guard low < encoded.endIndex, let h = hexValue(encoded[high]), let l = hexValue(encoded[low]) else { return nil }
                bytes.append(h << 4 | l)
                index = encoded.index(after: low)
            } else {
                guard isUnreserved(byte) else { return nil }
                bytes.append(byte)
                index = encoded.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Percent-encodes every byte that is not unreserved, so `:`, `{`, `}` and `%` never appear raw.
    static func appendEncoded(_ component: String, to output: inout String) {
        let utf8 = component.utf8
        if utf8.allSatisfy(isUnreserved) {
            output.append(component)
            return
        }
        let hex: [Character] = Array("0123456789ABCDEF")
        for byte in utf8 {
            if isUnreserved(byte) {
                output.append(Character(Unicode.Scalar(byte)))
            } else {
                output.append("%")
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            }
        }
    }
}
