/// A response code (RFC 9051 section 7.1, RFC 5530, RFC 4315 UIDPLUS, RFC 7162, RFC 7889).
///
/// ```
/// resp-text-code = "ALERT" / "BADCHARSET" [SP "(" charset *(SP charset) ")" ] / capability-data /
///                  "PARSE" / "PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")" / "READ-ONLY" /
///                  "READ-WRITE" / "TRYCREATE" / "UIDNEXT" SP nz-number / "UIDVALIDITY" SP nz-number /
///                  "UNSEEN" SP nz-number / resp-code-apnd / resp-code-copy / "UIDNOTSTICKY" /
///                  "UNAVAILABLE" / "AUTHENTICATIONFAILED" / "AUTHORIZATIONFAILED" / "EXPIRED" /
///                  "PRIVACYREQUIRED" / "CONTACTADMIN" / "NOPERM" / "INUSE" / "EXPUNGEISSUED" /
///                  "CORRUPTION" / "SERVERBUG" / "CLIENTBUG" / "CANNOT" / "LIMIT" / "OVERQUOTA" /
///                  "ALREADYEXISTS" / "NONEXISTENT" / "NOTSAVED" / "HASCHILDREN" / "CLOSED" /
///                  "UNKNOWN-CTE" / "TOOBIG" / "HIGHESTMODSEQ" SP mod-sequence-value / "NOMODSEQ" /
///                  "MODIFIED" SP sequence-set / atom [SP 1*<any TEXT-CHAR except "]">]
/// resp-code-apnd = "APPENDUID" SP nz-number SP append-uid
/// resp-code-copy = "COPYUID" SP nz-number SP uid-set SP uid-set
/// ```
public enum ResponseCode: Hashable, Sendable {
    case alert
    case badCharset([String])
    case capability([String])
    case parse
    case permanentFlags([PermanentFlag])
    case readOnly
    case readWrite
    case tryCreate
    case uidNext(UInt32)
    case uidValidity(UInt32)
    case unseen(UInt32)
    case appendUID(uidValidity: UInt32, uids: SequenceSet)
    case copyUID(uidValidity: UInt32, source: SequenceSet, destination: SequenceSet)
    case uidNotSticky
    case authenticationFailed
    case authorizationFailed
    case expired
    case privacyRequired
    case contactAdmin
    case limit
    case overQuota
    case unavailable
    case nonExistent
    case alreadyExists
    case cannot
    case noPerm
    case inUse
    case expungeIssued
    case corruption
    case serverBug
    case clientBug
    case notSaved
    case hasChildren
    case tooBig
    case highestModSeq(UInt64)
    case noModSeq
    case modified(SequenceSet)
    case closed
    case unknownCTE
    /// `MAILBOXID (objectid)` (RFC 8474 4).
    case mailboxID(String)
    /// `COMPRESSIONACTIVE` (RFC 4978): COMPRESS when the connection is compressed already.
    case compressionActive
    /// `USEATTR` (RFC 6154 6): CREATE refused for the special use it asked for.
    case useAttr
    /// `BADEVENT (event ...)` (RFC 5465 3.1): NOTIFY asked for an event the server does not tell;
    /// lists the events it does.
    case badEvent([String])
    /// `"METADATA" SP ("LONGENTRIES" SP number / "MAXSIZE" SP number / "TOOMANY" / "NOPRIVATE")` (RFC 5464)
    case metadata(MetadataResponseCode)
    /// Any other code: an atom and optional text.
    case other(String, String?)

    func write(into writer: inout ResponseWriter) {
        switch self {
        case .alert: writer.writeString("ALERT")
        case .badCharset(let charsets):
            writer.writeString("BADCHARSET")
            if !charsets.isEmpty {
                writer.writeString(" ")
                writer.writeList(charsets) { w, c in w.writeAString(c) }
            }
        case .capability(let caps): writer.writeString((["CAPABILITY"] + caps).joined(separator: " "))
        case .parse: writer.writeString("PARSE")
        case .permanentFlags(let flags):
            writer.writeString("PERMANENTFLAGS ")
            writer.writeList(flags) { w, f in w.writeString(f.wire) }
        case .readOnly: writer.writeString("READ-ONLY")
        case .readWrite: writer.writeString("READ-WRITE")
        case .tryCreate: writer.writeString("TRYCREATE")
        case .uidNext(let n): writer.writeString("UIDNEXT \(n)")
        case .uidValidity(let n): writer.writeString("UIDVALIDITY \(n)")
        case .unseen(let n): writer.writeString("UNSEEN \(n)")
        case .appendUID(let v, let uids): writer.writeString("APPENDUID \(v) \(uids.wire)")
        case .copyUID(let v, let s, let d): writer.writeString("COPYUID \(v) \(s.wire) \(d.wire)")
        case .uidNotSticky: writer.writeString("UIDNOTSTICKY")
        case .authenticationFailed: writer.writeString("AUTHENTICATIONFAILED")
        case .authorizationFailed: writer.writeString("AUTHORIZATIONFAILED")
        case .expired: writer.writeString("EXPIRED")
        case .privacyRequired: writer.writeString("PRIVACYREQUIRED")
        case .contactAdmin: writer.writeString("CONTACTADMIN")
        case .limit: writer.writeString("LIMIT")
        case .overQuota: writer.writeString("OVERQUOTA")
        case .unavailable: writer.writeString("UNAVAILABLE")
        case .nonExistent: writer.writeString("NONEXISTENT")
        case .alreadyExists: writer.writeString("ALREADYEXISTS")
        case .cannot: writer.writeString("CANNOT")
        case .noPerm: writer.writeString("NOPERM")
        case .inUse: writer.writeString("INUSE")
        case .expungeIssued: writer.writeString("EXPUNGEISSUED")
        case .corruption: writer.writeString("CORRUPTION")
        case .serverBug: writer.writeString("SERVERBUG")
        case .clientBug: writer.writeString("CLIENTBUG")
        case .notSaved: writer.writeString("NOTSAVED")
        case .hasChildren: writer.writeString("HASCHILDREN")
        case .tooBig: writer.writeString("TOOBIG")
        case .highestModSeq(let n): writer.writeString("HIGHESTMODSEQ \(n)")
        case .noModSeq: writer.writeString("NOMODSEQ")
        case .modified(let set): writer.writeString("MODIFIED \(set.wire)")
        case .closed: writer.writeString("CLOSED")
        case .unknownCTE: writer.writeString("UNKNOWN-CTE")
        case .mailboxID(let id): writer.writeString("MAILBOXID (\(id))")
        case .compressionActive: writer.writeString("COMPRESSIONACTIVE")
        case .useAttr: writer.writeString("USEATTR")
        case .badEvent(let events): writer.writeString("BADEVENT (\(events.joined(separator: " ")))")
        case .metadata(let code):
            switch code {
            case .longEntries(let size): writer.writeString("METADATA LONGENTRIES \(size)")
            case .maxSize(let size): writer.writeString("METADATA MAXSIZE \(size)")
            case .tooMany: writer.writeString("METADATA TOOMANY")
            case .noPrivate: writer.writeString("METADATA NOPRIVATE")
            }
        case .other(let atom, let text):
            writer.writeString(atom)
            if let text {
                writer.writeString(" ")
                writer.writeString(String(text.unicodeScalars.filter { $0 != "]" && $0 != "\r" && $0 != "\n" }.map(Character.init)))
            }
        }
    }
}
