import Redis
import NIOCore
import RESP

let conn = try await RedisConnection.connect(configuration: .init(endpoint: .init(host: "127.0.0.1", port: 7777)))
print("proto", conn.protocolVersion)
try await conn.set("a", to: "hello")
print(String(buffer: try await conn.get("a")!))
let start = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for t in 0..<50 {
        group.addTask {
            for _ in 0..<2000 { _ = try await conn.get("a") }
        }
    }
    try await group.waitForAll()
}
let el = ContinuousClock.now - start
print("100k gets in", el, Double(100_000) / (Double(el.components.seconds) + Double(el.components.attoseconds) / 1e18))
let r = try await conn.pipeline([GET("a"), SET("b", "x"), INCRBY("a"), GET("b")])
print(r.map { (try? $0.get()).map { RESPValue($0) } as Any })
