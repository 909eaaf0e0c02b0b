/// A METADATA entry name and, where one is given or returned, its value (RFC 5464 sections 3.2, 4).
///
/// ```
/// entry       = astring   ; slash-separated path, "/private/..." or "/shared/..."
/// entry-value = entry SP value
/// value       = nstring / literal8   ; NIL removes the entry
/// ```
/// Names are kept in lower case: RFC 5464 makes them case-insensitive.
public struct MetadataEntry: Hashable, Sendable {
    public var name: String
    public var value: [UInt8]?

    public init(_ name: String, value: [UInt8]? = nil) {
        self.name = name
        self.value = value
    }

    /// The longest entry name taken, in bytes.
    public static let maximumNameLength = 1_024

    /// Why `name` is no entry name (RFC 5464 3.2), or nil when it is one. `/private` and
    /// `/shared` alone name the two hierarchies, which GETMETADATA may read with a depth.
    public static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        guard bytes.count <= maximumNameLength else { return "entry name longer than \(maximumNameLength) bytes" }
        guard bytes.allSatisfy({ (0x20...0x7E).contains($0) && $0 != 0x2A && $0 != 0x25 }) else {
            return "entry names are printable ASCII without * or %"
        }
        let lower = name.lowercased()
        guard lower == "/private" || lower == "/shared" || lower.hasPrefix("/private/") || lower.hasPrefix("/shared/") else {
            return "entry names start with /private/ or /shared/"
        }
        guard !name.hasSuffix("/"), !name.contains("//") else { return "entry names have no empty component" }
        return nil
    }

    /// The name one level below a hierarchy (`/shared/comment`, not `/shared`): only these hold values.
    public var isSettable: Bool {
        name != "/private" && name != "/shared"
    }
}

/// The options of GETMETADATA (RFC 5464 section 4.2).
///
/// ```
/// getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
/// getmetadata-option  = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")
/// ```
public struct MetadataOptions: Hashable, Sendable {
    public enum Depth: Hashable, Sendable {
        case zero, one, infinity
    }

    /// Values longer than this many bytes are left out (and their size told in LONGENTRIES).
    public var maxSize: UInt64?
    public var depth: Depth

    public init(maxSize: UInt64? = nil, depth: Depth = .zero) {
        self.maxSize = maxSize
        self.depth = depth
    }
}

/// The METADATA response codes (RFC 5464 section 4.2.1, 4.3).
public enum MetadataResponseCode: Hashable, Sendable {
    /// GETMETADATA left out values longer than MAXSIZE; the longest was this many bytes.
    case longEntries(UInt64)
    /// SETMETADATA refused a value longer than this many bytes.
    case maxSize(UInt64)
    /// SETMETADATA would make more entries than the server keeps.
    case tooMany
    /// The server does not keep private entries here.
    case noPrivate
}
