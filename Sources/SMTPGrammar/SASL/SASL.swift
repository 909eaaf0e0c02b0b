/// SASL support for the AUTH command (RFC 4954): base64, the initial response, client
/// responses, and the PLAIN (RFC 4616) and LOGIN mechanisms.
///
/// A server runs an exchange like this:
/// ```
/// C: AUTH PLAIN                    -> .auth(mechanism: "PLAIN", initialResponse: nil)
/// S: 334                           SMTPReply.authenticationChallenge([])
/// C: dGVzdAB0ZXN0ADEyMzQ=          reader.mode = .saslResponse; SASL.ClientResponse(line:)
///                                  -> .data(...) -> SASL.PlainCredentials(message:)
/// S: 235 2.7.0 Authentication successful
/// ```
/// A client that answers a challenge with `*` cancels (``ClientResponse/cancel``); the server
/// answers ``SMTPReply/authenticationCancelled``.
public enum SASL {}
