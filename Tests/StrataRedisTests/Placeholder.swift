import StrataRedis
import Testing

@Suite struct StrataRedisModuleTests {
    @Test func moduleLinks() { _ = StrataRedis.self }
}
