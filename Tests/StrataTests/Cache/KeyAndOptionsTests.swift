import Testing

@testable import Strata

@Suite struct KeyAndOptionsTests {
    @Test func partsAreJoinedUnderOneHashTagWithNamespaceAndVersion() throws {
        let namespace = try CacheNamespace<String>("product", version: 3, codec: StringCacheCodec())
        #expect(namespace.key("eu", 42).storageKey == "{product:v3:eu:42}")
    }

    @Test func userInputCannotCollideOrInjectAHashTag() throws {
        let namespace = try makeNamespace()
        #expect(namespace.key("a:b", "c") != namespace.key("a", "b:c"))
        let injected = namespace.key("}{x").storageKey
        #expect(injected == "{item:v1:%7D%7Bx}")
        #expect(injected.filter { $0 == "{" }.count == 1)
        #expect(namespace.key("100%").storageKey == "{item:v1:100%25}")
        #expect(namespace.key("ü").storageKey == "{item:v1:%C3%BC}")
    }

    @Test func invalidNamespaceNamesAreRejected() {
        #expect(throws: CacheError.self) { try CacheNamespace<String>("", codec: StringCacheCodec()) }
        #expect(throws: CacheError.self) { try CacheNamespace<String>("a:b", codec: StringCacheCodec()) }
        #expect(throws: CacheError.self) { try CacheNamespace<String>("{tag}", codec: StringCacheCodec()) }
    }

    @Test func incoherentOptionsAreRejectedWithTheSettingNamed() {
        var options = CacheEntryOptions(freshFor: .seconds(10))
        options.expiration.memoryFreshFor = .seconds(20)
        #expect(throws: CacheError.self) { try options.validate() }
        do {
            try options.validate()
        } catch {
            #expect(error.message.contains("memoryFreshFor"))
        }
        #expect(throws: CacheError.self) { try CacheEntryOptions(freshFor: .zero).validate() }
        #expect(throws: CacheError.self) { try CacheEntryOptions(refresh: .init(beta: 0)).validate() }
        #expect(throws: CacheError.self) { try CacheEntryOptions(refresh: .init(refreshAheadFraction: 1.5)).validate() }
        #expect(throws: CacheError.self) {
            try CacheNamespace<String>("ok", codec: StringCacheCodec(), defaultOptions: CacheEntryOptions(negativeFor: .zero))
        }
        #expect(throws: Never.self) { try CacheEntryOptions().validate() }
    }

    @Test func jitterSpreadsFreshnessWithinItsBound() throws {
        let clock = ManualCacheClock()
        let cache = try StrataCache(configuration: .init(clock: clock, random: { 0.5 }))
        var options = CacheEntryOptions(freshFor: .seconds(100))
        options.expiration.jitter = .seconds(10)
        let entry = cache.makeEntry(value: "v", options: options, now: clock.now, recompute: .zero)
        #expect(clock.now.duration(to: entry.metadata.freshUntil) == .seconds(105))
    }
}
