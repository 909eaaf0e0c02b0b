import NIOCore

/// Untagged server data (RFC 9051 section 7, plus ENABLE, ID, QUOTA, ESEARCH, QRESYNC, SORT, THREAD).
///
/// ```
/// response-data = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data /
///                 capability-data / enable-data) CRLF
/// ```
public enum UntaggedResponse: Hashable, Sendable {
    case ok(ResponseText)
    case no(ResponseText)
    case bad(ResponseText)
    /// `resp-cond-bye = "BYE" SP resp-text`
    case bye(ResponseText)
    /// `resp-cond-auth = ("OK" / "PREAUTH") SP resp-text` (greeting)
    case preauth(ResponseText)
    /// `capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2" *(SP capability)`
    case capability([String])
    case list(MailboxListEntry)
    case lsub(MailboxListEntry)
    /// `"STATUS" SP mailbox SP "(" [status-att-list] ")"`
    case status(MailboxName, [StatusValue])
    /// `number SP "EXISTS"`
    case exists(UInt32)
    /// `number SP "RECENT"` (IMAP4rev1 only)
    case recent(UInt32)
    /// `nz-number SP "EXPUNGE"`
    case expunge(UInt32)
    /// `"FLAGS" SP flag-list`
    case flags([Flag])
    /// `"SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]` (RFC 3501, RFC 7162)
    case search([UInt32], modSeq: UInt64?)
    case esearch(ESearchResponse)
    /// `"SORT" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]` (RFC 5256, RFC 7162)
    case sort([UInt32], modSeq: UInt64?)
    /// `"THREAD" [SP 1*thread-list]` (RFC 5256)
    case thread([ThreadNode])
    /// `nz-number SP "FETCH" SP msg-att`
    case fetch(UInt32, [FetchValue])
    /// `enable-data = "ENABLED" *(SP capability)` (RFC 5161)
    case enabled([String])
    /// `"ID" SP id-params-list` (RFC 2971); nil is `NIL`.
    case id([IDField]?)
    /// `"NAMESPACE" SP namespace SP namespace SP namespace` (personal, other users, shared)
    case namespace(personal: [NamespaceDescription], otherUsers: [NamespaceDescription], shared: [NamespaceDescription])
    /// `quota-response = "QUOTA" SP quota-root-name SP quota-list` (RFC 9208)
    case quota(root: String, [QuotaResource])
    /// `quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)`
    case quotaRoot(MailboxName, [String])
    /// `acl-data = "ACL" SP mailbox *(SP identifier SP rights)` (RFC 4314 section 3.6)
    case acl(MailboxName, [ACLEntry])
    /// `listrights-data = "LISTRIGHTS" SP mailbox SP identifier SP rights *(SP rights)` (RFC 4314 3.7):
    /// the rights always granted, then each group of rights that may be granted.
    case listRights(MailboxName, identifier: String, required: String, optional: [String])
    /// `myrights-data = "MYRIGHTS" SP mailbox SP rights` (RFC 4314 section 3.8)
    case myRights(MailboxName, String)
    /// `metadata-resp = "METADATA" SP mailbox SP (entry-values / entry-list)` (RFC 5464 4.4): entries with
    /// their values (GETMETADATA), or names alone (an unsolicited change).
    case metadata(MailboxName, [MetadataEntry], namesOnly: Bool)
    /// `"VANISHED" [SP "(EARLIER)"] SP known-uids` (RFC 7162 section 3.2.10)
    case vanished(earlier: Bool, SequenceSet)

    func write(into writer: inout ResponseWriter) {
        writer.writeString("* ")
        switch self {
        case .ok(let text): writer.writeString("OK "); text.write(into: &writer)
        case .no(let text): writer.writeString("NO "); text.write(into: &writer)
        case .bad(let text): writer.writeString("BAD "); text.write(into: &writer)
        case .bye(let text): writer.writeString("BYE "); text.write(into: &writer)
        case .preauth(let text): writer.writeString("PREAUTH "); text.write(into: &writer)
        case .capability(let caps): writer.writeString((["CAPABILITY"] + caps).joined(separator: " "))
        case .list(let entry): writer.writeString("LIST "); entry.write(into: &writer)
        case .lsub(let entry): writer.writeString("LSUB "); entry.write(into: &writer)
        case .status(let name, let values):
            writer.writeString("STATUS ")
            writer.writeMailbox(name)
            writer.writeString(" ")
            writer.writeList(values) { w, v in v.write(into: &w) }
        case .exists(let n): writer.writeString("\(n) EXISTS")
        case .recent(let n): writer.writeString("\(n) RECENT")
        case .expunge(let n): writer.writeString("\(n) EXPUNGE")
        case .flags(let flags):
            writer.writeString("FLAGS ")
            writer.writeList(flags) { w, f in w.writeString(f.wire) }
        case .search(let numbers, let modSeq):
            writer.writeString("SEARCH")
            for n in numbers { writer.writeString(" \(n)") }
            if let modSeq { writer.writeString(" (MODSEQ \(modSeq))") }
        case .esearch(let response): response.write(into: &writer)
        case .sort(let numbers, let modSeq):
            writer.writeString("SORT")
            for n in numbers { writer.writeString(" \(n)") }
            if let modSeq { writer.writeString(" (MODSEQ \(modSeq))") }
        case .thread(let threads):
            writer.writeString(threads.isEmpty ? "THREAD" : "THREAD ")
            for thread in threads { thread.write(into: &writer) }
        case .fetch(let n, let values):
            writer.writeString("\(n) FETCH ")
            writer.writeList(values) { w, v in v.write(into: &w) }
        case .enabled(let caps): writer.writeString((["ENABLED"] + caps).joined(separator: " "))
        case .id(let fields):
            writer.writeString("ID ")
            if let fields {
                writer.writeList(fields) { w, f in
                    w.writeIMAPString(f.key)
                    w.writeString(" ")
                    w.writeNString(f.value)
                }
            } else {
                writer.writeString("NIL")
            }
        case .namespace(let personal, let other, let shared):
            writer.writeString("NAMESPACE ")
            NamespaceDescription.write(personal, into: &writer)
            writer.writeString(" ")
            NamespaceDescription.write(other, into: &writer)
            writer.writeString(" ")
            NamespaceDescription.write(shared, into: &writer)
        case .quota(let root, let resources):
            writer.writeString("QUOTA ")
            writer.writeAStringOrEmpty(root)
            writer.writeString(" ")
            writer.writeList(resources) { w, r in w.writeString("\(r.name) \(r.usage) \(r.limit)") }
        case .quotaRoot(let name, let roots):
            writer.writeString("QUOTAROOT ")
            writer.writeMailbox(name)
            for root in roots {
                writer.writeString(" ")
                writer.writeAStringOrEmpty(root)
            }
        case .acl(let name, let entries):
            writer.writeString("ACL ")
            writer.writeMailbox(name)
            for entry in entries {
                writer.writeString(" ")
                writer.writeAString(entry.identifier)
                writer.writeString(" ")
                writer.writeAString(entry.rights)
            }
        case .listRights(let name, let identifier, let required, let optional):
            writer.writeString("LISTRIGHTS ")
            writer.writeMailbox(name)
            writer.writeString(" ")
            writer.writeAString(identifier)
            for rights in [required] + optional {
                writer.writeString(" ")
                writer.writeAString(rights)
            }
        case .myRights(let name, let rights):
            writer.writeString("MYRIGHTS ")
            writer.writeMailbox(name)
            writer.writeString(" ")
            writer.writeAString(rights)
        case .metadata(let name, let entries, let namesOnly):
            writer.writeString("METADATA ")
            writer.writeMailbox(name)
            writer.writeString(" ")
            if namesOnly {
                writer.writeString(entries.map(\.name).joined(separator: " "))
            } else {
                writer.writeList(entries) { w, entry in
                    w.writeAString(entry.name)
                    w.writeString(" ")
                    if let value = entry.value, value.contains(0) {
                        w.writeLiteral8(ByteBuffer(bytes: value))
                    } else if let value = entry.value {
                        w.writeIMAPString(value)
                    } else {
                        w.writeString("NIL")
                    }
                }
            }
        case .vanished(let earlier, let uids):
            writer.writeString(earlier ? "VANISHED (EARLIER) " : "VANISHED ")
            writer.writeString(uids.wire)
        }
        writer.writeCRLF()
    }
}

extension ResponseWriter {
    /// An astring; the empty quota root goes out as `""`.
    mutating func writeAStringOrEmpty(_ text: String) {
        writeAString(text)
    }
}
