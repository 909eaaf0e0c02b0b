extension MIMEMessage {
    /// IMAP `BODYSTRUCTURE` (`extensible: true`) or `BODY` (`false`) of the whole message,
    /// RFC 3501 section 7.4.2 and RFC 9051 section 7.5.2.
    ///
    ///     C: A1 FETCH 1 BODYSTRUCTURE
    ///     S: * 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))
    public func bodyStructure(extensible: Bool) -> String {
        var output = ""
        writeBody(root, extensible: extensible, into: &output)
        return output
    }

    /// The structure of one part (for message/rfc822 parts and tools that show a subtree).
    public func bodyStructure(of part: MIMEPart, extensible: Bool) -> String {
        var output = ""
        writeBody(part, extensible: extensible, into: &output)
        return output
    }

    // body = "(" (body-type-1part / body-type-mpart) ")"
    func writeBody(_ part: MIMEPart, extensible: Bool, into output: inout String) {
        output += "("
        if part.isMultipart && !part.children.isEmpty {
            // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
            for child in part.children { writeBody(child, extensible: extensible, into: &output) }
            output += " "
            IMAPString.string(part.contentType.writtenSubtype, into: &output)
            if extensible {
                // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
                output += " "
                IMAPString.parameterList(part.contentType.parameters, into: &output)
                writeDispositionLanguageLocation(part, into: &output)
            }
        } else {
            writeSinglePart(part, extensible: extensible, into: &output)
        }
        output += ")"
    }

    // body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
    // body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
    func writeSinglePart(_ part: MIMEPart, extensible: Bool, into output: inout String) {
        var type = part.isMultipart ? ContentType.defaultText : part.contentType
        if type.isEncapsulatedMessage && part.embeddedMessage == nil {
            // A message/rfc822 we did not descend into (base64 or quoted-printable encoded) has no
            // envelope or structure to give; body-type-msg would require both, so it is described
            // as opaque data rather than sent in a shape clients cannot parse.
            type = .opaque
        }
        IMAPString.string(type.writtenType, into: &output)
        output += " "
        IMAPString.string(type.writtenSubtype, into: &output)
        output += " "
        var parameters = type.parameters
        if type.type == "text" && parameters.value(of: "charset") == nil {
            // RFC 2045 5.2: text without a charset is us-ascii; servers say so explicitly.
            parameters.append(MIMEParameter(name: "charset", value: "us-ascii"))
        }
        IMAPString.parameterList(parameters, into: &output)
        output += " "
        IMAPString.nstring(part.contentID, into: &output)
        output += " "
        IMAPString.nstring(part.contentDescription, into: &output)
        output += " "
        // The encoding as written, known or not (RFC 3501 leaves unknown values to be reported as is).
        IMAPString.string(part.writtenTransferEncoding.map { $0.isEmpty ? "7bit" : $0 } ?? "7bit", into: &output)
        output += " \(part.size)"
        if type.isEncapsulatedMessage, let embedded = part.embeddedMessage {
            // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
            output += " "
            output += envelope(of: part).imapString
            output += " "
            writeBody(embedded, extensible: extensible, into: &output)
            output += " \(part.lineCount)"
        } else if type.type == "text" {
            // body-type-text = media-text SP body-fields SP body-fld-lines
            output += " \(part.lineCount)"
        }
        if extensible {
            // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
            output += " "
            IMAPString.nstring(part.contentMD5, into: &output)
            writeDispositionLanguageLocation(part, into: &output)
        }
    }

    // body-fld-dsp  = "(" string SP body-fld-param ")" / nil
    // body-fld-lang = nstring / "(" string *(SP string) ")"
    // body-fld-loc  = nstring
    func writeDispositionLanguageLocation(_ part: MIMEPart, into output: inout String) {
        output += " "
        if let disposition = part.contentDisposition {
            output += "("
            IMAPString.string(disposition.type, into: &output)
            output += " "
            IMAPString.parameterList(disposition.parameters, into: &output)
            output += ")"
        } else {
            output += "NIL"
        }
        output += " "
        // Always a parenthesized list when there is a language, one tag or several.
        if part.contentLanguage.isEmpty {
            output += "NIL"
        } else {
            output += "("
            for (index, tag) in part.contentLanguage.enumerated() {
                if index > 0 { output += " " }
                IMAPString.string(tag, into: &output)
            }
            output += ")"
        }
        output += " "
        IMAPString.nstring(part.contentLocation, into: &output)
    }
}
