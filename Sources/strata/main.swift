import Redis
import NIOCore
import RESP

let client = try RedisClient(configuration: .init(endpoint: .init(host: "127.0.0.1", port: 7777)))
try await withThrowingTaskGroup(of: Void.self) { outer in
    outer.addTask { try await client.run() }
    try await client.set("a", to: "hello")
    print(String(buffer: try await client.get("a")!))
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<50 {
            group.addTask {
                for _ in 0..<4000 { _ = try await client.get("a") }
            }
        }
        try await group.waitForAll()
    }
    let el = ContinuousClock.now - start
    print("200k gets in", el)
    client.shutdown()
    try await outer.waitForAll()
    print("shut down")
}
