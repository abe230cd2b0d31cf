import NIOCore
import Redis
import Testing

@Suite("Hash slots")
struct HashSlotTests {
    @Test("CRC16-XMODEM check value: \"123456789\" is 0x31C3")
    func checkValue() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.crc16([]) == 0)
    }

    @Test("Hash tags follow the cluster spec's examples", arguments: [
        ("{user1000}.following", "user1000"),
        ("{user1000}.followers", "user1000"),
        ("foo{}{bar}", "foo{}{bar}"),
        ("foo{{bar}}zap", "{bar"),
        ("foo{bar}{zap}", "bar"),
        ("{}", "{}"),
        ("{", "{"),
        ("}{", "}{"),
        ("a}b{c", "a}b{c"),
        ("a}b{c}d", "c"),
        ("plain", "plain"),
    ])
    func hashTags(key: String, hashed: String) {
        #expect(String(decoding: HashSlot.hashedPart(of: Array(key.utf8)), as: UTF8.self) == hashed)
        #expect(HashSlot(key: key) == HashSlot(key: hashed))
    }

    @Test("Keys sharing a tag share a slot")
    func sharedTag() {
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "{user1000}.followers"))
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "user1000"))
        #expect(HashSlot(key: "{k}") == HashSlot(key: "{k}:lease"))
        #expect(HashSlot(key: "foo{}{bar}") != HashSlot(key: "bar"))
    }

    @Test("Known slots", arguments: [
        ("somekey", 11058),  // the CLUSTER KEYSLOT documentation's examples
        ("foo{hash_tag}", 2515),
        ("", 0),
        ("123456789", 0x31C3 % 16384),
        ("foo", 12182),
        ("bar", 5061),
        ("hello", 866),
        ("{user1000}.following", 3443),
        ("foo{{bar}}zap", 4015),
    ])
    func knownSlots(key: String, slot: Int) {
        #expect(HashSlot(key: key).rawValue == UInt16(slot))
    }

    @Test("String, ByteBuffer, contiguous and non-contiguous bytes agree, including non-ASCII keys")
    func overloadsAgree() {
        for key in ["", "a", "hello", "{tag}rest", "clé-€-🚀", String(repeating: "long key ", count: 50), "x{ü}y"] {
            let slot = HashSlot(key: key)
            #expect(HashSlot(key: ByteBuffer(string: key)) == slot)
            #expect(HashSlot(key: Array(key.utf8)) == slot)
            #expect(HashSlot(key: key.utf8.lazy.map { $0 }) == slot)  // not contiguous
            #expect(HashSlot(key: Substring(key).utf8) == slot)
        }
        // A buffer hashes its readable bytes only.
        var buffer = ByteBuffer(string: "xxfoo")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(HashSlot(key: buffer) == HashSlot(key: "foo"))
    }

    @Test("Slot numbers are checked")
    func numbers() {
        #expect(HashSlot(0) == HashSlot.first)
        #expect(HashSlot(16383) == HashSlot.last)
        #expect(HashSlot(16384) == nil)
        #expect(HashSlot(-1) == nil)
        #expect(HashSlot(rawValue: 16384) == nil)
        #expect(HashSlot.first < HashSlot.last)
        #expect(HashSlot(42)!.description == "42")
    }
}
