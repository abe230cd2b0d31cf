import Redis
import Testing

@Suite("MOVED and ASK")
struct ClusterRedirectTests {
    let asked = RedisEndpoint(host: "10.0.0.5", port: 7000)

    @Test("MOVED and ASK with an IPv4 address")
    func ipv4() {
        #expect(
            ClusterRedirect(serverMessage: "MOVED 3999 127.0.0.1:6381", askedNode: asked)
                == ClusterRedirect(kind: .moved, slot: HashSlot(3999)!, endpoint: local(6381)))
        #expect(
            ClusterRedirect(serverMessage: "ASK 3999 127.0.0.1:6381", askedNode: asked)
                == ClusterRedirect(kind: .ask, slot: HashSlot(3999)!, endpoint: local(6381)))
    }

    @Test("IPv6 addresses, bare and bracketed")
    func ipv6() {
        let expected = ClusterRedirect(kind: .moved, slot: HashSlot(12)!, endpoint: RedisEndpoint(host: "::1", port: 6381))
        #expect(ClusterRedirect(serverMessage: "MOVED 12 [::1]:6381", askedNode: asked) == expected)
        #expect(ClusterRedirect(serverMessage: "MOVED 12 ::1:6381", askedNode: asked) == expected)
        #expect(
            ClusterRedirect(serverMessage: "ASK 0 2001:db8::7:7001", askedNode: asked)?.endpoint
                == RedisEndpoint(host: "2001:db8::7", port: 7001))
    }

    @Test("Host names; an empty or '?' host means the asked node's host")
    func hosts() {
        #expect(
            ClusterRedirect(serverMessage: "MOVED 5 redis-2.internal:6379", askedNode: asked)?.endpoint
                == RedisEndpoint(host: "redis-2.internal", port: 6379))
        #expect(
            ClusterRedirect(serverMessage: "MOVED 5 :6381", askedNode: asked)?.endpoint
                == RedisEndpoint(host: "10.0.0.5", port: 6381))
        #expect(
            ClusterRedirect(serverMessage: "ASK 5 ?:6381", askedNode: asked)?.endpoint
                == RedisEndpoint(host: "10.0.0.5", port: 6381))
    }

    @Test("Anything else is not a redirect", arguments: [
        "", "MOVED", "MOVED 3999", "MOVED 3999 127.0.0.1", "MOVED x 127.0.0.1:6381", "MOVED 16384 127.0.0.1:6381",
        "MOVED -1 127.0.0.1:6381", "MOVED 1 127.0.0.1:0", "MOVED 1 127.0.0.1:70000", "MOVED 1 127.0.0.1:port",
        "MOVED 1 [::1:6381", "MOVED 1 []:6381", "ASKING 1 127.0.0.1:6381", "moved 1 127.0.0.1:6381",
        "MOVED 1 127.0.0.1:6381 extra", "ERR unknown command", "TRYAGAIN Multiple keys request during rehashing of slot",
    ])
    func rejects(message: String) {
        #expect(ClusterRedirect(serverMessage: message, askedNode: asked) == nil)
    }

    @Test("From a RedisError: only MOVED and ASK codes")
    func fromError() {
        let moved = RedisError(serverMessage: "MOVED 3999 127.0.0.1:6381", command: "GET")
        #expect(moved.code == .moved)
        #expect(ClusterRedirect(moved, askedNode: asked)?.slot == HashSlot(3999))
        let ask = RedisError(serverMessage: "ASK 1 127.0.0.1:6381", command: "GET")
        #expect(ClusterRedirect(ask, askedNode: asked)?.kind == .ask)
        #expect(ClusterRedirect(RedisError(serverMessage: "ERR MOVED 1 127.0.0.1:6381"), askedNode: asked) == nil)
        #expect(ClusterRedirect(RedisError(.timeout), askedNode: asked) == nil)
        #expect(ClusterRedirect(moved, askedNode: asked)?.description == "MOVED 3999 127.0.0.1:6381")
    }
}
