// Parameters for `azd up`. azd passes its environment (azd env set NAME VALUE) to this file as environment variables;
// AZURE_ENV_NAME, AZURE_LOCATION and AZURE_PRINCIPAL_ID are set by azd itself. See infra/README.md.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME')
param location = readEnvironmentVariable('AZURE_LOCATION')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param principalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')

param relayHost = readEnvironmentVariable('MAILGATEWAY_RELAY_HOST')
param relayUserName = readEnvironmentVariable('MAILGATEWAY_RELAY_USERNAME')
param relayPassword = readEnvironmentVariable('MAILGATEWAY_RELAY_PASSWORD')
// JSON, e.g. [{"port":587,"tls":"StartTls"},{"port":465,"tls":"ImplicitTls"}]; default 587, 465, 2525.
param relayEndpoints = json(readEnvironmentVariable(
  'MAILGATEWAY_RELAY_ENDPOINTS',
  '[{"port":587,"tls":"StartTls"},{"port":465,"tls":"ImplicitTls"},{"port":2525,"tls":"StartTls"}]'
))

// JSON, e.g. [{"id":"billing","sha256":"<64 hex>","allowedSenderDomains":["example.com"]}].
param apiKeys = json(readEnvironmentVariable('MAILGATEWAY_API_KEYS', '[]'))
// JSON, e.g. [{"domain":"example.com","selector":"s1","secretName":"dkim-example-com-s1"}]; the secrets go into
// DKIM_KEY_VAULT (README "DKIM signing").
param dkimKeys = json(readEnvironmentVariable('MAILGATEWAY_DKIM_KEYS', '[]'))
param maxMessageBytes = int(readEnvironmentVariable('MAILGATEWAY_MAX_MESSAGE_BYTES', '10485760'))
param maxRecipients = int(readEnvironmentVariable('MAILGATEWAY_MAX_RECIPIENTS', '50'))

// Comma-separated, e.g. example.com,example.org.
param inboundDomains = map(split(readEnvironmentVariable('MAILGATEWAY_INBOUND_DOMAINS'), ','), domain => trim(domain))
param inboundServerName = readEnvironmentVariable(
  'MAILGATEWAY_INBOUND_SERVER_NAME',
  'mx.${trim(split(readEnvironmentVariable('MAILGATEWAY_INBOUND_DOMAINS'), ',')[0])}'
)
param inboundMaxMessageSize = int(readEnvironmentVariable('MAILGATEWAY_INBOUND_MAX_MESSAGE_SIZE', '26214400'))
param inboundTlsCertificateName = readEnvironmentVariable('MAILGATEWAY_INBOUND_TLS_CERTIFICATE', '')

// Bounce processing, off unless MAILGATEWAY_BOUNCE_DOMAIN is set; the secret: e.g. openssl rand -base64 33 (README).
param bounceDomain = readEnvironmentVariable('MAILGATEWAY_BOUNCE_DOMAIN', '')
param bounceSecret = readEnvironmentVariable('MAILGATEWAY_BOUNCE_SECRET', '')

param deliveryMinReplicas = int(readEnvironmentVariable('MAILGATEWAY_DELIVERY_MIN_REPLICAS', '0'))
param deliveryMaxReplicas = int(readEnvironmentVariable('MAILGATEWAY_DELIVERY_MAX_REPLICAS', '10'))
param deliveryConcurrency = int(readEnvironmentVariable('MAILGATEWAY_DELIVERY_CONCURRENCY', '8'))
param deliveryMaxDeliveryCount = int(readEnvironmentVariable('MAILGATEWAY_DELIVERY_MAX_DELIVERY_COUNT', '10'))
param inboundMinReplicas = int(readEnvironmentVariable('MAILGATEWAY_INBOUND_MIN_REPLICAS', '1'))
param inboundMaxReplicas = int(readEnvironmentVariable('MAILGATEWAY_INBOUND_MAX_REPLICAS', '3'))

// Set by azd after the first deploy; empty before it (the apps then run a placeholder image).
param deliveryImage = readEnvironmentVariable('SERVICE_DELIVERY_IMAGE_NAME', '')
param inboundImage = readEnvironmentVariable('SERVICE_INBOUND_IMAGE_NAME', '')
param dashboardImage = readEnvironmentVariable('SERVICE_DASHBOARD_IMAGE_NAME', '')
