/// FNV-1a, 64 bits: a fixed hash (the same on every run and machine) where a value must land in
/// the same place each time: a survey shard, a HyperLogLog register. Not for tables an attacker
/// fills (those use the standard library's seeded `Hasher`).
public enum FNV1a {
    public static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
