public import RESP
import NIOCore

/// Parsers for the text and map payloads the doctor reads. Pure functions, shared by the
/// collector and the tests that load recorded payloads.
public enum DoctorParsing {
    /// Splits `INFO`-style text (`field:value` lines, `# Section` headers) into fields.
    public static func fields(infoText text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingSpaces()
        }
        return fields
    }

    /// Splits an `INFO` value of the `a=1,b=2` form (`slave0`, `db0`) into its parts.
    public static func subfields(_ value: String) -> [String: String] {
        pairs(value.split(separator: ","))
    }

    /// Flattens `MEMORY STATS` (a RESP3 map or a RESP2 flat array) into numbers. Nested maps
    /// become dotted names (`db.0.overhead.hashtable.main`); non-numeric values are dropped.
    public static func memoryStats(_ value: RESPValue) -> [String: Double] {
        var result: [String: Double] = [:]
        flatten(value, prefix: "", into: &result)
        return result
    }

    private static func flatten(_ value: RESPValue, prefix: String, into result: inout [String: Double]) {
        for (key, entry) in keyValuePairs(value) {
            switch entry {
            case .integer(let number): result[prefix + key] = Double(number)
            case .double(let number): result[prefix + key] = number
            case .bulkString, .simpleString:
                if let number = text(entry).flatMap(Double.init) { result[prefix + key] = number }
            case .map, .array: flatten(entry, prefix: prefix + key + ".", into: &result)
            default: continue
            }
        }
    }

    /// The pairs of a RESP3 map or a RESP2 flat `[key, value, ...]` array, keys as text.
    public static func keyValuePairs(_ value: RESPValue) -> [(String, RESPValue)] {
        switch value {
        case .map(let pairs):
            return pairs.compactMap { pair in text(pair.key).map { ($0, pair.value) } }
        case .array(let elements) where elements.count % 2 == 0:
            return stride(from: 0, to: elements.count, by: 2).compactMap { index in
                text(elements[index]).map { ($0, elements[index + 1]) }
            }
        case .attributed(_, let inner):
            return keyValuePairs(inner)
        default:
            return []
        }
    }

    /// A string-like value as text (numbers as their decimal form); nil otherwise.
    public static func text(_ value: RESPValue) -> String? {
        switch value {
        case .simpleString(let string), .bigNumber(let string), .verbatimString(_, let string): string
        case .bulkString(let bytes): String(buffer: bytes)
        case .integer(let number): String(number)
        case .double(let number): String(number)
        default: nil
        }
    }

    /// The elements of an array or set value.
    public static func elements(_ value: RESPValue) -> [RESPValue] {
        switch value {
        case .array(let elements), .set(let elements): elements
        default: []
        }
    }

    /// Parses `CLIENT LIST` (one client per line, `field=value` separated by spaces).
    public static func clients(clientList text: String) -> [DoctorClient] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = pairs(line.split(separator: " "))
            guard let address = fields["addr"] else { return nil }
            let subscriptions = ["sub", "psub", "ssub"].reduce(0) { $0 + (fields[$1].flatMap { Int($0) } ?? 0) }
            return DoctorClient(
                address: address, name: fields["name"] ?? "", idleSeconds: fields["idle"].flatMap { Int($0) } ?? 0,
                flags: fields["flags"] ?? "", totalMemory: fields["tot-mem"].flatMap { Int($0) } ?? 0,
                subscriptions: subscriptions
            )
        }
    }

    private static func pairs(_ parts: [Substring]) -> [String: String] {
        var fields: [String: String] = [:]
        for part in parts {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        return fields
    }
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while let last = text.last, last == " " || last == "\r" { text = text.dropLast() }
        while let first = text.first, first == " " { text = text.dropFirst() }
        return String(text)
    }
}
