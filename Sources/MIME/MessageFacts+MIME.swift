import MailCore

extension MessageFacts {
    /// Everything the store keeps about a message, worked out once when it is written: IMAP's
    /// ENVELOPE and BODYSTRUCTURE as wire text, and the API's fields.
    public init(parsing message: MIMEMessage) {
        let summary = message.summary()
        func participants(_ mailboxes: [Mailbox]) -> [Participant] {
            mailboxes.map { Participant(name: $0.displayName, email: $0.address) }
        }
        self.init(
            messageIDHeader: summary.messageID,
            inReplyTo: summary.inReplyTo,
            references: summary.references,
            subject: summary.subject,
            from: participants(summary.from),
            to: participants(summary.to),
            cc: participants(summary.cc),
            bcc: participants(summary.bcc),
            replyTo: participants(summary.replyTo),
            sentDate: summary.date?.secondsSince1970,
            snippet: summary.snippet,
            hasAttachments: !summary.attachments.isEmpty,
            envelope: message.envelope,
            bodyStructure: message.bodyStructure(extensible: true),
            body: message.bodyStructure(extensible: false))
    }
}
