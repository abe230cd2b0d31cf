/// Strong entity tags computed from a body, and `If-None-Match` evaluation (RFC 9110 §8.8.3,
/// §13.1.2).
public enum EntityTag {
    /// A strong entity tag for `body`: the 128-bit FNV-1a hash of the bytes, as 32 hex digits in
    /// quotes.
    ///
    /// Identical bodies always get the same tag (on every instance, so the edge and all
    /// application instances agree); different bodies collide with probability about 2⁻¹²⁸ for
    /// non-adversarial content. FNV is not collision-resistant against someone who crafts bodies,
    /// which is acceptable here: a collision can only make a client keep a representation it
    /// already holds, and only the author of both bodies could arrange it.
    ///
    /// - Complexity: O(n) in the body length.
    public static func strong(for body: some Sequence<UInt8>) -> String {
        var hash = FNV128()
        for byte in body { hash.combine(byte) }
        return "\"\(hash.hex)\""
    }

    /// Whether `If-None-Match` field lines match `etag` under the weak comparison RFC 9110
    /// requires for this field (`W/` prefixes are ignored; `*` matches any current representation).
    ///
    /// - Complexity: O(total length of the lines).
    public static func ifNoneMatch(_ lines: some Sequence<String>, matches etag: String) -> Bool {
        let target = opaque(etag)
        for line in lines {
            for element in CacheControl.splitList(line) {
                let candidate = element.trimmingHTTPWhitespace()
                if candidate == "*" { return true }
                if !candidate.isEmpty, opaque(candidate) == target { return true }
            }
        }
        return false
    }

    /// The opaque tag without a weakness prefix.
    static func opaque(_ tag: some StringProtocol) -> Substring {
        let tag = Substring(tag)
        return tag.hasPrefix("W/") ? tag.dropFirst(2) : tag
    }
}

/// FNV-1a with a 128-bit state (prime 2⁸⁸ + 2⁸ + 0x3b), kept in two 64-bit halves.
///
/// Used for entity tags and for the fixed-size names of URI tags; never for cache keys, where an
/// attacker able to craft a collision could poison another entry.
struct FNV128 {
    private var high: UInt64 = 0x6C62_272E_07BB_0142
    private var low: UInt64 = 0x62B8_2175_6295_C58D

    mutating func combine(_ byte: UInt8) {
        low ^= UInt64(byte)
        // (high·2⁶⁴ + low) · (2⁸⁸ + 0x13b) mod 2¹²⁸; 2⁸⁸ = 2²⁴ · 2⁶⁴, so low·2⁸⁸ only feeds `high`.
        let product = low.multipliedFullWidth(by: 0x13B)
        let newHigh = product.high &+ high &* 0x13B &+ (low << 24)
        low = product.low
        high = newHigh
    }

    mutating func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { combine(byte) }
    }

    var hex: String {
        func pad(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return pad(high) + pad(low)
    }
}
