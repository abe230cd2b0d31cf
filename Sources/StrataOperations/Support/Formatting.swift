import Foundation

/// Number formatting shared by reports and progress lines.
enum Format {
    /// Bytes with a binary unit: `812 B`, `31.0 MB`, `1.50 GB`.
    static func bytes(_ value: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var amount = Double(value)
        var unit = 0
        while abs(amount) >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        if unit == 0 { return "\(value) B" }
        return String(format: amount < 10 ? "%.2f %@" : "%.1f %@", amount, units[unit])
    }

    /// Bytes with a unit, followed by the exact count when a unit was applied: `31.0 MB (32549936)`.
    static func bytesExact(_ value: Int) -> String {
        abs(value) < 1024 ? bytes(value) : "\(bytes(value)) (\(value))"
    }

    /// A ratio with two decimals.
    static func ratio(_ value: Double) -> String { String(format: "%.2f", value) }

    /// A share as a percentage with one decimal: `48.6 %`.
    static func percent(_ share: Double) -> String { String(format: "%.1f %%", share * 100) }

    /// A rate with no decimals above 100 and one below.
    static func rate(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : "%.1f", value) }

    /// A value as pretty-printed JSON with sorted keys (empty if it cannot be encoded).
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }

    /// Cells padded to fixed widths: right-aligned for a positive width, left-aligned for a
    /// negative one; at least one space separates cells.
    static func columns(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in
            let padding = String(repeating: " ", count: max(1, abs(width) - cell.count))
            return width < 0 ? cell + padding : padding + cell
        }.joined()
    }
}
