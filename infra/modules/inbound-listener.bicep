// The inbound SMTP listener on Container Apps: external TCP ingress on 25 (MX), and SMTP submission on 587 (STARTTLS)
// and 465 (implicit TLS) once a TLS certificate is imported; at least one replica (an MX must always answer). The
// container listens on unprivileged ports and Container Apps maps 25/587/465 to them, so the non-root image never
// needs to bind a port below 1024. Submission accepts through the API's claim-check port (outbound Blob container,
// status and idempotency tables, Service Bus job) with the API's keys and message limits. Liveness and readiness probe the app's HTTP health endpoints. Raw messages go to the inbound Blob container with the
// app's identity; the STARTTLS certificate is read from Key Vault by the app with the same identity. With a bounce
// domain the listener also accepts it and applies DSNs and complaints to the status and suppression tables, with the
// VERP key the worker signs with (a Key Vault reference).

import { apiKey, dkimKey } from 'types.bicep'

@description('Name of the container app.')
param name string

@description('Azure region.')
param location string

@description('Tags (the app also gets the azd service tag).')
param tags object

@description('Resource ID of the Container Apps environment.')
param environmentId string

@description('Image to run; empty on the first provision (azd deploys the real image afterwards).')
param image string

@description('Login server of the container registry.')
param registryServer string

@description('Name of the app identity.')
param identityName string

@description('Name of the Application Insights component (the app identity publishes telemetry to it).')
param applicationInsightsName string

@description('Application Insights connection string (Entra ID authentication only: local auth is off).')
param applicationInsightsConnectionString string

@description('Host name in the greeting and Received headers: the name the MX record points to.')
param serverName string

@description('Domains mail is accepted for (never an open relay).')
@minLength(1)
param domains string[]

@description('Largest message accepted, bytes.')
param maxMessageSize int

@description('Blob service endpoint.')
param blobEndpoint string

@description('Container of received messages.')
param inboundContainerName string

@description('URI of the Key Vault that holds the STARTTLS certificate.')
param tlsKeyVaultUri string

@description('Name of the certificate in that vault; empty: no STARTTLS.')
param tlsCertificateName string

@description('Table service endpoint (submission and bounce processing: status records).')
param tableEndpoint string

@description('Container of composed outbound messages (submission).')
param outboundContainerName string

@description('Table of message status records.')
param statusTableName string

@description('Table of idempotency keys.')
param idempotencyTableName string

@description('Table of the per-key suppression lists (bounce processing: bounce and complaint entries).')
param suppressionTableName string

@description('Table of the event feed (submission and bounce processing: every status change with events writes its entry there).')
param eventFeedTableName string

@description('Fully qualified Service Bus namespace (submission: first delivery jobs).')
param serviceBusNamespace string

@description('Delivery queue.')
param queueName string

@description('Largest submitted message, bytes (the API\'s MailGateway:Messages:MaxMessageBytes).')
param maxMessageBytes int

@description('Recipients per submitted message (the API\'s MailGateway:Messages:MaxRecipients).')
param maxRecipients int

@description('The API keys; submission authenticates with them (user name = id, password = key).')
param apiKeys apiKey[]

@description('URI of the Key Vault that holds the DKIM private keys.')
param dkimKeyVaultUri string

@description('DKIM keys of submission, which signs like the API (their secrets are in that vault).')
param dkimKeys dkimKey[]

@description('Bounce domain (MailGateway:Bounces:Domain): the listener accepts it and applies DSNs and complaints to the tables. Empty: off.')
param bounceDomain string = ''

@description('Key Vault URI of the VERP signing key secret (no version), shared with the delivery worker; required with bounceDomain.')
param bounceSecretUri string = ''

@description('Fewest replicas: at least 1, an MX must answer.')
@minValue(1)
param minReplicas int = 1

@description('Most replicas.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 3

@description('Port the container listens on for SMTP (exposed as 25).')
param smtpTargetPort int = 2525

@description('Port the container listens on for submission with STARTTLS (exposed as 587).')
param submissionTargetPort int = 2587

@description('Port the container listens on for submission with implicit TLS (exposed as 465).')
param submissionTlsTargetPort int = 2465

@description('Port of the health endpoints (/healthz, /readyz): the image\'s ASPNETCORE_HTTP_PORTS. Not exposed by the ingress.')
param healthPort int = 8080

var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
var tlsEnabled = !empty(tlsCertificateName)
var bouncesEnabled = !empty(bounceDomain)

var domainEnv = [
  for (domain, i) in domains: {
    name: 'MailGateway__Inbound__Domains__${i}'
    value: domain
  }
]

// MailGateway:Api:Keys:N:… — one setting per field, as on the Function App.
var apiKeyEnv = flatten(map(range(0, length(apiKeys)), i => concat(
  [
    {
      name: 'MailGateway__Api__Keys__${i}__Id'
      value: apiKeys[i].id
    }
    {
      name: 'MailGateway__Api__Keys__${i}__Sha256'
      value: apiKeys[i].sha256
    }
  ],
  map(range(0, length(apiKeys[i].allowedSenderDomains)), j => {
    name: 'MailGateway__Api__Keys__${i}__AllowedSenderDomains__${j}'
    value: apiKeys[i].allowedSenderDomains[j]
  })
)))

// MailGateway:Dkim:Keys:N:… — as on the Function App: submission signs at accept like the API.
var dkimKeyEnv = flatten(map(range(0, length(dkimKeys)), i => concat(
  [
    {
      name: 'MailGateway__Dkim__Keys__${i}__Domain'
      value: dkimKeys[i].domain
    }
    {
      name: 'MailGateway__Dkim__Keys__${i}__KeyVaultUri'
      value: dkimKeyVaultUri
    }
    {
      name: 'MailGateway__Dkim__Keys__${i}__SecretName'
      value: dkimKeys[i].secretName
    }
    {
      name: 'MailGateway__Dkim__Keys__${i}__Active'
      value: (dkimKeys[i].?active ?? true) ? 'true' : 'false'
    }
  ],
  empty(dkimKeys[i].?selector ?? '')
    ? []
    : [
        {
          name: 'MailGateway__Dkim__Keys__${i}__Selector'
          value: dkimKeys[i].selector!
        }
      ]
)))

// Submission needs the certificate (AUTH over TLS only): without one it is off and its ports are not exposed.
var submissionEnv = tlsEnabled
  ? concat(
      [
        {
          name: 'MailGateway__Submission__Enabled'
          value: 'true'
        }
        {
          name: 'MailGateway__Submission__ServerName'
          value: serverName
        }
        {
          name: 'MailGateway__Submission__Endpoints__0__Port'
          value: string(submissionTargetPort)
        }
        {
          name: 'MailGateway__Submission__Endpoints__1__Port'
          value: string(submissionTlsTargetPort)
        }
        {
          name: 'MailGateway__Submission__Endpoints__1__ImplicitTls'
          value: 'true'
        }
        {
          name: 'MailGateway__ServiceBus__FullyQualifiedNamespace'
          value: serviceBusNamespace
        }
        {
          name: 'MailGateway__ServiceBus__QueueName'
          value: queueName
        }
        {
          name: 'MailGateway__AzureStorage__ContentContainer'
          value: outboundContainerName
        }
        {
          name: 'MailGateway__AzureStorage__IdempotencyTable'
          value: idempotencyTableName
        }
        {
          name: 'MailGateway__Messages__MaxMessageBytes'
          value: string(maxMessageBytes)
        }
        {
          name: 'MailGateway__Messages__MaxRecipients'
          value: string(maxRecipients)
        }
      ],
      apiKeyEnv,
      dkimKeyEnv
    )
  : []

// The status table serves both submission (accept) and bounce processing (bounced recipients and their events); each
// such change also writes its entry in the event feed.
var tableEnv = tlsEnabled || bouncesEnabled
  ? [
      {
        name: 'MailGateway__AzureStorage__TableServiceUri'
        value: tableEndpoint
      }
      {
        name: 'MailGateway__AzureStorage__StatusTable'
        value: statusTableName
      }
      {
        name: 'MailGateway__AzureStorage__EventFeedTable'
        value: eventFeedTableName
      }
    ]
  : []

// Bounce processing: the domain, the signing key (a Key Vault reference, the worker's secret) and the suppression table.
var bounceEnv = bouncesEnabled
  ? [
      {
        name: 'MailGateway__Bounces__Domain'
        value: bounceDomain
      }
      {
        name: 'MailGateway__Bounces__Secret'
        secretRef: 'bounce-secret'
      }
      {
        name: 'MailGateway__AzureStorage__SuppressionTable'
        value: suppressionTableName
      }
    ]
  : []

var bounceSecrets = bouncesEnabled
  ? [
      {
        name: 'bounce-secret'
        keyVaultUrl: bounceSecretUri
        identity: identity.id
      }
    ]
  : []

var submissionPorts = tlsEnabled
  ? [
      {
        external: true
        targetPort: submissionTargetPort
        exposedPort: 587
      }
      {
        external: true
        targetPort: submissionTlsTargetPort
        exposedPort: 465
      }
    ]
  : []

var tlsEnv = tlsEnabled
  ? [
      {
        name: 'MailGateway__Inbound__Tls__KeyVaultUri'
        value: tlsKeyVaultUri
      }
      {
        name: 'MailGateway__Inbound__Tls__KeyVaultCertificateName'
        value: tlsCertificateName
      }
    ]
  : []

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Azure Monitor accepts the app's telemetry (traces, metrics, logs) from its identity only.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'inbound' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryServer
          identity: identity.id
        }
      ]
      secrets: bounceSecrets
      ingress: {
        external: true
        transport: 'tcp'
        targetPort: smtpTargetPort
        exposedPort: 25
        additionalPortMappings: submissionPorts
      }
    }
    template: {
      containers: [
        {
          name: 'inbound'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(
            [
              {
                name: 'AZURE_CLIENT_ID'
                value: identity.properties.clientId
              }
              {
                // Read by the app's OpenTelemetry (AddAzureServiceDefaults), which authenticates with AZURE_CLIENT_ID's identity.
                name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
                value: applicationInsightsConnectionString
              }
              {
                name: 'MailGateway__Inbound__ServerName'
                value: serverName
              }
              {
                name: 'MailGateway__Inbound__Endpoints__0__Port'
                value: string(smtpTargetPort)
              }
              {
                name: 'MailGateway__Inbound__MaxMessageSize'
                value: string(maxMessageSize)
              }
              {
                name: 'MailGateway__Inbound__Store'
                value: 'Blob'
              }
              {
                // The gateway's one storage account, in the same configuration shape as the other apps.
                name: 'MailGateway__AzureStorage__BlobServiceUri'
                value: blobEndpoint
              }
              {
                name: 'MailGateway__AzureStorage__InboundContainer'
                value: inboundContainerName
              }
              {
                // Deployed by the templates; the role is scoped to the container and cannot create one.
                name: 'MailGateway__AzureStorage__CreateIfNotExists'
                value: 'false'
              }
            ],
            domainEnv,
            tlsEnv,
            tableEnv,
            submissionEnv,
            bounceEnv
          )
          probes: empty(image)
            ? []
            : [
                {
                  // The process answers (not the SMTP port: a listener that hangs still accepts TCP).
                  type: 'Liveness'
                  httpGet: {
                    path: '/healthz'
                    port: healthPort
                  }
                  periodSeconds: 30
                }
                {
                  // Every SMTP endpoint is bound and the Blob container answers: only then does the MX get traffic.
                  type: 'Readiness'
                  httpGet: {
                    path: '/readyz'
                    port: healthPort
                  }
                  periodSeconds: 15
                  timeoutSeconds: 5
                }
              ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

@description('Name of the container app.')
output name string = app.name
