/// A rough count of how often each byte shows up in web and Exchange logs, so literal searches can
/// anchor on the rarest part of a literal.
public enum ByteFrequency {
    /// How common `b` is (0-100). Letters count both cases.
    public static func of(_ b: UInt8) -> Int {
        switch b {
        case UInt8(ascii: " "), UInt8(ascii: ","): return 100
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return 90
        case UInt8(ascii: "e"), UInt8(ascii: "t"), UInt8(ascii: "a"), UInt8(ascii: "o"), UInt8(ascii: "i"),
             UInt8(ascii: "n"), UInt8(ascii: "s"), UInt8(ascii: "r"), UInt8(ascii: "c"): return 85
        case UInt8(ascii: "a")...UInt8(ascii: "z"):
            return [UInt8(ascii: "q"), UInt8(ascii: "z"), UInt8(ascii: "j"), UInt8(ascii: "x"), UInt8(ascii: "k")].contains(b) ? 45 : 70
        case UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"): return 65
        case UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "_"): return 55
        case UInt8(ascii: "&"), UInt8(ascii: "%"), UInt8(ascii: "+"): return 40
        case UInt8(ascii: "?"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): return 30
        case UInt8(ascii: "@"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "!"): return 15
        case UInt8(ascii: "~"): return 12
        default: return 5
        }
    }
}
