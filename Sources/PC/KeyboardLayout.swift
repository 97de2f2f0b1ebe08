/// Turns characters typed on the host terminal into PS/2 set-2 key events
/// for a US layout: letters, digits, punctuation, Enter, Backspace, Tab,
/// Escape, control characters (Ctrl+letter) and the arrow-key escape
/// sequences terminals send.
public enum KeyboardLayout {
    static let leftShift: UInt8 = 0x12
    static let leftCtrl: UInt8 = 0x14

    /// Unshifted character → set-2 make code.
    static let plain: [Character: UInt8] = {
        var m: [Character: UInt8] = [:]
        let letters: [(Character, UInt8)] = [
            ("a", 0x1C), ("b", 0x32), ("c", 0x21), ("d", 0x23), ("e", 0x24), ("f", 0x2B), ("g", 0x34), ("h", 0x33),
            ("i", 0x43), ("j", 0x3B), ("k", 0x42), ("l", 0x4B), ("m", 0x3A), ("n", 0x31), ("o", 0x44), ("p", 0x4D),
            ("q", 0x15), ("r", 0x2D), ("s", 0x1B), ("t", 0x2C), ("u", 0x3C), ("v", 0x2A), ("w", 0x1D), ("x", 0x22),
            ("y", 0x35), ("z", 0x1A),
            ("1", 0x16), ("2", 0x1E), ("3", 0x26), ("4", 0x25), ("5", 0x2E), ("6", 0x36), ("7", 0x3D), ("8", 0x3E),
            ("9", 0x46), ("0", 0x45), ("-", 0x4E), ("=", 0x55), ("[", 0x54), ("]", 0x5B), ("\\", 0x5D), (";", 0x4C),
            ("'", 0x52), ("`", 0x0E), (",", 0x41), (".", 0x49), ("/", 0x4A), (" ", 0x29),
        ]
        for (c, k) in letters { m[c] = k }
        return m
    }()

    /// Shifted character → the unshifted key it lives on.
    static let shifted: [Character: Character] = [
        "!": "1", "@": "2", "#": "3", "$": "4", "%": "5", "^": "6", "&": "7", "*": "8", "(": "9", ")": "0",
        "_": "-", "+": "=", "{": "[", "}": "]", "|": "\\", ":": ";", "\"": "'", "~": "`", "<": ",", ">": ".", "?": "/",
    ]

    /// Key events (each a complete set-2 byte sequence) for host bytes.
    public static func events(for bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        func tap(_ code: UInt8, shift: Bool = false, ctrl: Bool = false, extended: Bool = false) {
            if ctrl { out.append([leftCtrl]) }
            if shift { out.append([leftShift]) }
            out.append(extended ? [0xE0, code] : [code])
            out.append(extended ? [0xE0, 0xF0, code] : [0xF0, code])
            if shift { out.append([0xF0, leftShift]) }
            if ctrl { out.append([0xF0, leftCtrl]) }
        }
        while i < bytes.count {
            let b = bytes[i]
            // Arrow keys: ESC [ A/B/C/D.
            if b == 0x1B, i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "[") {
                let arrows: [UInt8: UInt8] = [UInt8(ascii: "A"): 0x75, UInt8(ascii: "B"): 0x72, UInt8(ascii: "C"): 0x74, UInt8(ascii: "D"): 0x6B]
                if let code = arrows[bytes[i + 2]] {
                    tap(code, extended: true)
                    i += 3
                    continue
                }
            }
            switch b {
            case 0x0D, 0x0A: tap(0x5A)
            case 0x7F, 0x08: tap(0x66)
            case 0x09: tap(0x0D)
            case 0x1B: tap(0x76)
            case 0x01...0x1A:
                let letter = Character(Unicode.Scalar(b + 0x60))
                if let code = plain[letter] { tap(code, ctrl: true) }
            default:
                let c = Character(Unicode.Scalar(b))
                if let code = plain[c] {
                    tap(code)
                } else if c.isUppercase, let code = plain[Character(c.lowercased())] {
                    tap(code, shift: true)
                } else if let base = shifted[c], let code = plain[base] {
                    tap(code, shift: true)
                }
            }
            i += 1
        }
        return out
    }
}
