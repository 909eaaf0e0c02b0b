/// The app password rules every surface enforces on write (the seed's policy, kept exact):
/// 18 to 40 characters, printable ASCII 33 to 126 only, at least one upper case letter, one
/// lower case letter and one digit.
public enum AppPasswordPolicy {
    public static let minimumLength = 18
    public static let maximumLength = 40
    public static let allowedBytes: ClosedRange<UInt8> = 33...126

    public enum Violation: Error, Equatable, Sendable, CustomStringConvertible {
        case length(actual: Int)
        case characterOutsidePrintableASCII
        case missingUppercaseLetter
        case missingLowercaseLetter
        case missingDigit

        /// The rule named the way the API reports it to the caller.
        public var description: String {
            switch self {
            case .length(let actual):
                "app_password must be 18 to 40 characters long (got \(actual))"
            case .characterOutsidePrintableASCII:
                "app_password may contain only printable ASCII characters 33 to 126 (no spaces, control or non-ASCII characters)"
            case .missingUppercaseLetter:
                "app_password must contain at least one upper case letter"
            case .missingLowercaseLetter:
                "app_password must contain at least one lower case letter"
            case .missingDigit:
                "app_password must contain at least one digit"
            }
        }
    }

    /// Checks the rules in a fixed order so that the caller always hears about the same first
    /// broken rule; characters are counted as Unicode scalars, as a person counts them.
    public static func validate(_ password: String) throws(Violation) {
        let length = password.unicodeScalars.count
        guard (minimumLength...maximumLength).contains(length) else { throw .length(actual: length) }
        guard password.utf8.allSatisfy({ allowedBytes.contains($0) }) else { throw .characterOutsidePrintableASCII }
        guard password.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw .missingUppercaseLetter
        }
        guard password.utf8.contains(where: { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) else {
            throw .missingLowercaseLetter
        }
        guard password.utf8.contains(where: { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw .missingDigit
        }
    }
}
