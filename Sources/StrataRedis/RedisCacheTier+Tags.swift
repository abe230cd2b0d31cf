import Redis
import RESP
public import Strata

/// Tag epochs in Redis: one counter per tag at `{<prefix><tag>}`, so each tag key hashes to its
/// own slot and every command touches one key (or, for reads, one `MGET` per slot).
extension RedisCacheTier: TagEpochStore {
    /// `INCR`, then lifted above the caller's known epoch if the counter was lost (evicted or
    /// flushed) and restarted lower. KEYS: the tag key. ARGV: the known epoch.
    static let advanceEpochScript = RedisScript(
        """
        local epoch = redis.call('INCR', KEYS[1])
        local floor = tonumber(ARGV[1])
        if epoch <= floor then
          epoch = floor + 1
          redis.call('SET', KEYS[1], epoch)
        end
        return epoch
        """)

    /// The key of `tag`'s epoch. Braces and `%` are escaped, so a tag cannot end the hash tag early.
    func tagEpochKey(_ tag: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(tag.utf8.count)
        for character in tag.unicodeScalars {
            switch character {
            case "%": escaped.append("%25")
            case "{": escaped.append("%7B")
            case "}": escaped.append("%7D")
            default: escaped.unicodeScalars.append(character)
            }
        }
        return "{\(configuration.tagEpochKeyPrefix)\(escaped)}"
    }

    /// `MGET` of the tags' keys (one per slot on a cluster); a missing key is epoch 0.
    public func epochs(of tags: [String]) async throws -> [Int64] {
        let values = try await get(tags.map(tagEpochKey))
        return try values.map { bytes throws(RedisError) -> Int64 in
            guard let bytes else { return 0 }
            guard let epoch = Int64(String(decoding: bytes, as: UTF8.self)) else {
                throw RedisError(.unexpectedReply, serverMessage: "a tag epoch key holds something other than an integer")
            }
            return epoch
        }
    }

    /// One script on the tag's key: `INCR`, lifted above `floor` when the counter restarted.
    public func advanceEpoch(of tag: String, above floor: Int64) async throws -> Int64 {
        let reply = RESPValue(try await runScript(Self.advanceEpochScript, keys: [tagEpochKey(tag)], arguments: ["\(floor)"]))
        guard case .integer(let epoch) = reply else {
            throw RedisError(.unexpectedReply, serverMessage: "the tag epoch script returned an unexpected reply")
        }
        return Int64(epoch)
    }
}
