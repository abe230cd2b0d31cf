import Foundation

/// The state letter in `/proc/PID/stat` (`S`, `R`, `T`, `Z`...), or nil when no such process exists.
func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(after: close)...].first { $0 != " " }
}

/// Whether `pid` is neither running nor a zombie.
func isGone(_ pid: Int32) -> Bool {
    processState(pid) == nil
}
