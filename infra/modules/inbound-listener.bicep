// The inbound SMTP listener on Container Apps: external TCP ingress on 25 (MX) and 587, at least one replica (an MX
// must always answer). The container listens on unprivileged ports and Container Apps maps 25/587 to them, so the
// non-root image never needs to bind a port below 1024. Raw messages go to the inbound Blob container with the
// app's identity; the STARTTLS certificate is read from Key Vault by the app with the same identity.

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

@description('Fewest replicas: at least 1, an MX must answer.')
@minValue(1)
param minReplicas int = 1

@description('Most replicas.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 3

@description('Port the container listens on for SMTP (exposed as 25).')
param smtpTargetPort int = 2525

@description('Port the container listens on for submission (exposed as 587).')
param submissionTargetPort int = 2587

var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var tlsEnabled = !empty(tlsCertificateName)

var domainEnv = [
  for (domain, i) in domains: {
    name: 'MailGateway__Inbound__Domains__${i}'
    value: domain
  }
]

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
      ingress: {
        external: true
        transport: 'tcp'
        targetPort: smtpTargetPort
        exposedPort: 25
        additionalPortMappings: [
          {
            external: true
            targetPort: submissionTargetPort
            exposedPort: 587
          }
        ]
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
                name: 'MailGateway__Inbound__ServerName'
                value: serverName
              }
              {
                name: 'MailGateway__Inbound__Endpoints__0__Port'
                value: string(smtpTargetPort)
              }
              {
                name: 'MailGateway__Inbound__Endpoints__1__Port'
                value: string(submissionTargetPort)
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
            tlsEnv
          )
          probes: empty(image)
            ? []
            : [
                {
                  type: 'Liveness'
                  tcpSocket: {
                    port: smtpTargetPort
                  }
                  periodSeconds: 30
                }
                {
                  type: 'Readiness'
                  tcpSocket: {
                    port: smtpTargetPort
                  }
                  periodSeconds: 15
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
