// MailGateway on Azure: the HTTP API (Functions, Flex Consumption), the Service Bus queue, Blob/Table storage, the
// delivery worker and the inbound SMTP listener (Container Apps), Key Vault, monitoring, identities and roles.
// Deployed by `azd up` (parameters in main.parameters.json); compiled and linted in CI by tests/MailGateway.Infra.Tests.

targetScope = 'subscription'

import { apiKey, dkimKey, relayEndpoint } from 'modules/types.bicep'

@minLength(1)
@maxLength(40)
@description('Name of the azd environment; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every resource.')
param location string

@description('Object ID of the deploying user (azd sets it): may import the inbound TLS certificate. Empty: no grant.')
param principalId string = ''

@description('Type of that principal.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// --- Outbound: the relay -------------------------------------------------------------------------------------------

@description('Host name of the authenticated SMTP relay the gateway delivers to.')
param relayHost string

@description('Ports of the relay, tried in order. Azure blocks outbound port 25: use 587, 465 or 2525.')
param relayEndpoints relayEndpoint[] = [
  {
    port: 587
    tls: 'StartTls'
  }
  {
    port: 465
    tls: 'ImplicitTls'
  }
  {
    port: 2525
    tls: 'StartTls'
  }
]

@description('AUTH user name at the relay.')
param relayUserName string

@secure()
@description('AUTH password at the relay: stored in Key Vault, referenced by the worker, never in a setting.')
param relayPassword string

// --- The API --------------------------------------------------------------------------------------------------------

@description('API keys of the HTTP API: id, SHA-256 of the key, allowed sender domains.')
param apiKeys apiKey[] = []

@description('Largest composed outbound message, bytes.')
@minValue(1024)
param maxMessageBytes int = 10485760

@description('Most recipients per outbound message.')
@minValue(1)
@maxValue(10000)
param maxRecipients int = 50

@description('DKIM keys of the API and SMTP submission: domain, selector (or the secret\'s "selector" tag), secret name in the DKIM vault. Empty: nothing is signed.')
param dkimKeys dkimKey[] = []

// --- Inbound ----------------------------------------------------------------------------------------------------------

@description('Domains the inbound listener accepts mail for (their MX records point to it).')
@minLength(1)
param inboundDomains string[]

@description('Host name of the inbound listener: the MX target, used in its greeting. Default mx.<first domain>.')
param inboundServerName string = 'mx.${inboundDomains[0]}'

@description('Largest inbound message, bytes.')
@minValue(1024)
param inboundMaxMessageSize int = 26214400

@description('Name of the STARTTLS certificate in the inbound TLS Key Vault; empty until one is imported (no STARTTLS).')
param inboundTlsCertificateName string = ''

// --- Bounce processing (off by default) ---------------------------------------------------------------------------------

@description('Bounce domain (MailGateway:Bounces:Domain): MAIL FROM becomes a signed VERP address of it, its MX points to the inbound listener, which applies the DSNs and complaints. Empty: off.')
param bounceDomain string = ''

@secure()
@description('HMAC key of the VERP tokens (at least 32 characters; MailGateway:Bounces:Secret), required with bounceDomain: stored in its own Key Vault, read by the delivery worker and the inbound listener.')
param bounceSecret string = ''

// --- Scale ------------------------------------------------------------------------------------------------------------

@description('Fewest delivery worker replicas (0: scale to zero).')
@minValue(0)
param deliveryMinReplicas int = 0

@description('Most delivery worker replicas.')
@minValue(1)
@maxValue(300)
param deliveryMaxReplicas int = 10

@description('Concurrent deliveries per worker replica (MailGateway:DeliveryWorker:Concurrency).')
@minValue(1)
@maxValue(256)
param deliveryConcurrency int = 8

@description('Deliveries of one job without a settlement before the worker dead-letters it (MailGateway:DeliveryWorker:MaxDeliveryCount); the queue\'s own limit is one more, so the worker sees the last one and marks the message failed.')
@minValue(1)
@maxValue(1000)
param deliveryMaxDeliveryCount int = 10

@description('Fewest inbound listener replicas (at least 1: an MX must answer).')
@minValue(1)
param inboundMinReplicas int = 1

@description('Most inbound listener replicas.')
@minValue(1)
@maxValue(300)
param inboundMaxReplicas int = 3

// --- Images (azd sets them after the first deploy) --------------------------------------------------------------------

@description('Image of the delivery worker; empty: a placeholder until azd deploys.')
param deliveryImage string = ''

@description('Image of the inbound listener; empty: a placeholder until azd deploys.')
param inboundImage string = ''

@description('Image of the dashboard; empty: a placeholder until azd deploys.')
param dashboardImage string = ''

var tags = {
  'azd-env-name': environmentName
  application: 'mailgateway'
}
var token = toLower(uniqueString(subscription().id, environmentName, location))
var queueName = 'outbound'
var keyVaultCertificateUserRoleId = 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba'
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
// Names known before deployment, so role assignment names (guid of scope, identity, role) are too.
var apiIdentityName = 'id-api-${token}'
var deliveryIdentityName = 'id-delivery-${token}'
var scalerIdentityName = 'id-delivery-scaler-${token}'
var inboundIdentityName = 'id-inbound-${token}'
var dashboardIdentityName = 'id-dashboard-${token}'
var applicationInsightsName = 'appi-${token}'

resource resourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  scope: resourceGroup
  params: {
    logAnalyticsName: 'log-${token}'
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
  }
}

module apiIdentity 'modules/identity.bicep' = {
  name: 'identity-api'
  scope: resourceGroup
  params: {
    name: apiIdentityName
    location: location
    tags: tags
  }
}

module deliveryIdentity 'modules/identity.bicep' = {
  name: 'identity-delivery'
  scope: resourceGroup
  params: {
    name: deliveryIdentityName
    location: location
    tags: tags
  }
}

module scalerIdentity 'modules/identity.bicep' = {
  name: 'identity-delivery-scaler'
  scope: resourceGroup
  params: {
    name: scalerIdentityName
    location: location
    tags: tags
  }
}

module inboundIdentity 'modules/identity.bicep' = {
  name: 'identity-inbound'
  scope: resourceGroup
  params: {
    name: inboundIdentityName
    location: location
    tags: tags
  }
}

module dashboardIdentity 'modules/identity.bicep' = {
  name: 'identity-dashboard'
  scope: resourceGroup
  params: {
    name: dashboardIdentityName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  scope: resourceGroup
  params: {
    name: 'st${token}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    outboundContainerName: 'outbound'
    inboundContainerName: 'inbound'
    deploymentContainerName: 'deployments'
    statusTableName: 'MessageStatus'
    idempotencyTableName: 'IdempotencyKeys'
    suppressionTableName: 'Suppressions'
    eventFeedTableName: 'EventFeed'
    webhookTableName: 'Webhooks'
    apiIdentityName: apiIdentityName
    deliveryIdentityName: deliveryIdentityName
    inboundIdentityName: inboundIdentityName
    inboundWritesSuppressions: !empty(bounceDomain)
    dashboardIdentityName: dashboardIdentityName
  }
  dependsOn: [
    apiIdentity
    deliveryIdentity
    inboundIdentity
    dashboardIdentity
  ]
}

module serviceBus 'modules/servicebus.bicep' = {
  scope: resourceGroup
  params: {
    name: 'sb-${token}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    queueName: queueName
    maxDeliveryCount: deliveryMaxDeliveryCount + 1
    apiIdentityName: apiIdentityName
    deliveryIdentityName: deliveryIdentityName
    scalerIdentityName: scalerIdentityName
    inboundIdentityName: inboundIdentityName
    dashboardIdentityName: dashboardIdentityName
  }
  dependsOn: [
    apiIdentity
    deliveryIdentity
    scalerIdentity
    inboundIdentity
    dashboardIdentity
  ]
}

// Three vaults (four with bounce processing), so each identity can read only its own secret material: the relay
// password (the worker, on that secret), the inbound TLS certificate (the listener, on a vault that holds nothing else)
// and the DKIM private keys (the API and the listener's submission, which sign at accept; a vault that holds nothing else).
module relayVault 'modules/keyvault.bicep' = {
  name: 'keyvault-relay'
  scope: resourceGroup
  params: {
    name: 'kv-relay-${take(token, 13)}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    secretName: 'relay-password'
    secretValue: relayPassword
    readerIdentityNames: [
      deliveryIdentityName
    ]
  }
  dependsOn: [
    deliveryIdentity
  ]
}

// The VERP key: the worker signs with it, the listener checks it. Its own vault, so neither identity reads the other's
// secrets (the relay password stays the worker's alone).
module bounceVault 'modules/keyvault.bicep' = if (!empty(bounceDomain)) {
  name: 'keyvault-bounce'
  scope: resourceGroup
  params: {
    name: 'kv-bounce-${take(token, 13)}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    secretName: 'bounce-secret'
    secretValue: bounceSecret
    readerIdentityNames: [
      deliveryIdentityName
      inboundIdentityName
    ]
  }
  dependsOn: [
    deliveryIdentity
    inboundIdentity
  ]
}

var bounceSecretUri = empty(bounceDomain) ? '' : bounceVault!.outputs.secretUri

module tlsVault 'modules/keyvault.bicep' = {
  name: 'keyvault-tls'
  scope: resourceGroup
  params: {
    name: 'kv-tls-${take(token, 15)}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    vaultIdentityNames: [
      inboundIdentityName
    ]
    vaultRoleId: keyVaultCertificateUserRoleId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
  dependsOn: [
    inboundIdentity
  ]
}

// The operator puts the keys in (az keyvault secret set, README "DKIM signing"): the deploying user gets Secrets Officer.
module dkimVault 'modules/keyvault.bicep' = {
  name: 'keyvault-dkim'
  scope: resourceGroup
  params: {
    name: 'kv-dkim-${take(token, 14)}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    vaultIdentityNames: [
      apiIdentityName
      inboundIdentityName
    ]
    vaultRoleId: keyVaultSecretsUserRoleId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    operatorRoleId: keyVaultSecretsOfficerRoleId
  }
  dependsOn: [
    apiIdentity
    inboundIdentity
  ]
}

module registry 'modules/registry.bicep' = {
  scope: resourceGroup
  params: {
    name: 'cr${token}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    pullIdentityNames: [
      deliveryIdentityName
      inboundIdentityName
      dashboardIdentityName
    ]
  }
  dependsOn: [
    deliveryIdentity
    inboundIdentity
    dashboardIdentity
  ]
}

module containerAppsEnvironment 'modules/container-apps-environment.bicep' = {
  scope: resourceGroup
  params: {
    name: 'cae-${token}'
    virtualNetworkName: 'vnet-${token}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module functionApp 'modules/function-app.bicep' = {
  scope: resourceGroup
  params: {
    name: 'func-${token}'
    planName: 'plan-${token}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    identityName: apiIdentityName
    applicationInsightsName: applicationInsightsName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    outboundContainerName: storage.outputs.outboundContainerName
    statusTableName: storage.outputs.statusTableName
    idempotencyTableName: storage.outputs.idempotencyTableName
    suppressionTableName: storage.outputs.suppressionTableName
    eventFeedTableName: storage.outputs.eventFeedTableName
    webhookTableName: storage.outputs.webhookTableName
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    queueName: serviceBus.outputs.queueName
    maxMessageBytes: maxMessageBytes
    maxRecipients: maxRecipients
    apiKeys: apiKeys
    dkimKeyVaultUri: dkimVault.outputs.uri
    dkimKeys: dkimKeys
  }
  dependsOn: [
    apiIdentity
  ]
}

module deliveryWorker 'modules/delivery-worker.bicep' = {
  scope: resourceGroup
  params: {
    name: 'ca-delivery-${take(token, 10)}'
    location: location
    tags: tags
    environmentId: containerAppsEnvironment.outputs.id
    image: deliveryImage
    registryServer: registry.outputs.loginServer
    identityName: deliveryIdentityName
    applicationInsightsName: applicationInsightsName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    scalerIdentityName: scalerIdentityName
    serviceBusName: serviceBus.outputs.name
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    queueName: serviceBus.outputs.queueName
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    outboundContainerName: storage.outputs.outboundContainerName
    statusTableName: storage.outputs.statusTableName
    idempotencyTableName: storage.outputs.idempotencyTableName
    suppressionTableName: storage.outputs.suppressionTableName
    eventFeedTableName: storage.outputs.eventFeedTableName
    webhookTableName: storage.outputs.webhookTableName
    relayHost: relayHost
    relayEndpoints: relayEndpoints
    relayUserName: relayUserName
    relayPasswordSecretUri: relayVault.outputs.secretUri
    bounceDomain: bounceDomain
    bounceSecretUri: bounceSecretUri
    concurrency: deliveryConcurrency
    maxDeliveryCount: deliveryMaxDeliveryCount
    minReplicas: deliveryMinReplicas
    maxReplicas: deliveryMaxReplicas
  }
  dependsOn: [
    deliveryIdentity
    scalerIdentity
  ]
}

module inboundListener 'modules/inbound-listener.bicep' = {
  scope: resourceGroup
  params: {
    name: 'ca-inbound-${take(token, 10)}'
    location: location
    tags: tags
    environmentId: containerAppsEnvironment.outputs.id
    image: inboundImage
    registryServer: registry.outputs.loginServer
    identityName: inboundIdentityName
    applicationInsightsName: applicationInsightsName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    serverName: inboundServerName
    domains: inboundDomains
    maxMessageSize: inboundMaxMessageSize
    blobEndpoint: storage.outputs.blobEndpoint
    inboundContainerName: storage.outputs.inboundContainerName
    tlsKeyVaultUri: tlsVault.outputs.uri
    tlsCertificateName: inboundTlsCertificateName
    tableEndpoint: storage.outputs.tableEndpoint
    outboundContainerName: storage.outputs.outboundContainerName
    statusTableName: storage.outputs.statusTableName
    idempotencyTableName: storage.outputs.idempotencyTableName
    suppressionTableName: storage.outputs.suppressionTableName
    eventFeedTableName: storage.outputs.eventFeedTableName
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    queueName: serviceBus.outputs.queueName
    maxMessageBytes: maxMessageBytes
    maxRecipients: maxRecipients
    apiKeys: apiKeys
    dkimKeyVaultUri: dkimVault.outputs.uri
    dkimKeys: dkimKeys
    bounceDomain: bounceDomain
    bounceSecretUri: bounceSecretUri
    minReplicas: inboundMinReplicas
    maxReplicas: inboundMaxReplicas
  }
  dependsOn: [
    inboundIdentity
  ]
}

// The dashboard (/ui): its own small container app (the Functions worker cannot serve Razor components).
module dashboard 'modules/dashboard.bicep' = {
  scope: resourceGroup
  params: {
    name: 'ca-dash-${take(token, 10)}'
    location: location
    tags: tags
    environmentId: containerAppsEnvironment.outputs.id
    image: dashboardImage
    registryServer: registry.outputs.loginServer
    identityName: dashboardIdentityName
    applicationInsightsName: applicationInsightsName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    queueName: serviceBus.outputs.queueName
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    outboundContainerName: storage.outputs.outboundContainerName
    statusTableName: storage.outputs.statusTableName
    eventFeedTableName: storage.outputs.eventFeedTableName
    apiKeys: apiKeys
  }
  dependsOn: [
    dashboardIdentity
  ]
}

// azd reads these (AZURE_CONTAINER_REGISTRY_ENDPOINT to push images); the README uses the others.
@description('Resource group of the deployment.')
output AZURE_RESOURCE_GROUP string = resourceGroup.name

@description('Container registry azd pushes images to.')
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer

@description('Base URL of the HTTP API.')
output API_BASE_URL string = 'https://${functionApp.outputs.defaultHostName}'

@description('Public IP of the inbound listener: the A record of the MX host.')
output INBOUND_PUBLIC_IP string = containerAppsEnvironment.outputs.staticIp

@description('Host name the MX records of the inbound domains point to.')
output INBOUND_MX_HOST string = inboundServerName

@description('Key Vault to import the inbound STARTTLS certificate into.')
output INBOUND_TLS_KEY_VAULT string = tlsVault.outputs.name

@description('Key Vault to put the DKIM private keys into (az keyvault secret set --vault-name …).')
output DKIM_KEY_VAULT string = dkimVault.outputs.name

@description('Bounce domain: its MX record points to INBOUND_MX_HOST; empty when bounce processing is off.')
output BOUNCE_DOMAIN string = bounceDomain

@description('Name of the delivery worker container app.')
output DELIVERY_APP_NAME string = deliveryWorker.outputs.name

@description('Name of the inbound listener container app.')
output INBOUND_APP_NAME string = inboundListener.outputs.name

@description('The dashboard: open it and sign in with an API key.')
output DASHBOARD_URL string = 'https://${dashboard.outputs.fqdn}/ui'
