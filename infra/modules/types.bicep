// Types shared by main.bicep and the app modules.

@export()
@description('An API key of the HTTP API. Only the SHA-256 of the key is deployed; the key itself is never in a template or a setting.')
type apiKey = {
  @description('A name for the key; it owns the messages sent with it.')
  id: string

  @description('SHA-256 of the key, 64 hex digits.')
  @minLength(64)
  @maxLength(64)
  sha256: string

  @description('Domains this key may send from; *.example.com also allows subdomains.')
  @minLength(1)
  allowedSenderDomains: string[]
}

@export()
@description('One port of the SMTP relay the worker delivers to, tried in the listed order.')
type relayEndpoint = {
  @description('TCP port: 587 or 2525 (STARTTLS) or 465 (implicit TLS). Azure blocks outbound 25.')
  @minValue(1)
  @maxValue(65535)
  port: int

  @description('How TLS starts on that port.')
  tls: ('StartTls' | 'ImplicitTls')
}

@export()
@description('A DKIM key of the API and SMTP submission: its private key (the PEM create-dkim-key writes) is a secret in the DKIM Key Vault, never a parameter.')
type dkimKey = {
  @description('The signing domain (d=): mail whose header From is this domain or a subdomain of it is signed.')
  domain: string

  @description('The selector (s=). Omit it to take each secret version\'s tag "selector" (a new version with a new selector rotates without a restart).')
  selector: string?

  @description('Name of the secret in the DKIM vault (letters, digits, hyphens).')
  secretName: string

  @description('False: read and checked, but does not sign (a selector being published or retired). Default true.')
  active: bool?
}
