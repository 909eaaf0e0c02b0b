/// A list of domains, top-level domains or addresses that rules look values up in (`in_list`).
public struct AddressList: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case domain, tld, address
    }

    public var id: String
    public var name: String
    public var description: String?
    public var kind: Kind
    public var createdAt: Int64
    public var updatedAt: Int64

    /// Items one request may add or remove, and the longest item.
    public static let maximumItemsPerRequest = 1000
    public static let maximumItemLength = 500

    public init(id: String, name: String, description: String?, kind: Kind, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.name = name
        self.description = description
        self.kind = kind
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// An item as it is stored and compared: trimmed and lower-cased; nil when it is not a value of
    /// this list's kind.
    public static func normalized(_ item: String, kind: Kind) -> String? {
        let value = item.trimmingWhitespace().lowercased()
        guard !value.isEmpty, value.utf8.count <= maximumItemLength else { return nil }
        switch kind {
        case .address:
            return EmailAddress(value) != nil ? value : nil
        case .domain:
            return isDomain(value) ? value : nil
        case .tld:
            let label = value.hasPrefix(".") ? String(value.dropFirst()) : value
            return !label.contains(".") && isDomain(label) ? label : nil
        }
    }

    private static func isDomain(_ value: String) -> Bool {
        let labels = value.split(separator: ".", omittingEmptySubsequences: false)
        return value.utf8.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0 == "-" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
        }
    }
}
