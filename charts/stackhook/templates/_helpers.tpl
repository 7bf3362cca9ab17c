{{/* The release's name for its objects (at most 63 characters). */}}
{{- define "stackhook.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stackhook.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "stackhook.labels" -}}
{{ include "stackhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "stackhook.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "stackhook.tlsSecret" -}}
{{- if eq .Values.certificates.mode "existingSecret" -}}
{{ required "certificates.existingSecret.name is required with mode existingSecret" .Values.certificates.existingSecret.name }}
{{- else -}}
{{ include "stackhook.fullname" . }}-tls
{{- end -}}
{{- end -}}

{{/* The DNS names the API server uses to reach the webhook Service. */}}
{{- define "stackhook.dnsNames" -}}
{{- $svc := include "stackhook.fullname" . -}}
{{- $names := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) -}}
{{- with .Values.webhook.url -}}
{{- $names = append $names (splitList ":" (urlParse .).host | first) -}}
{{- end -}}
{{- $names | toJson -}}
{{- end -}}

{{/*
The self-signed CA and serving certificate, as JSON {ca.crt, tls.crt, tls.key} (PEM):
the ones in the existing Secret when there is one (so `helm upgrade` keeps caBundle
valid), else made now. Made once per render and kept on the root context, because the
Secret, the webhook configurations and the Deployment's checksum must agree.
*/}}
{{- define "stackhook.selfSigned" -}}
{{- if not (hasKey .Release "stackhookCertificates") -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "stackhook.tlsSecret" .) -}}
{{- $certs := dict -}}
{{- if and $existing (hasKey ($existing.data | default dict) "ca.crt") (hasKey $existing.data "tls.crt") (hasKey $existing.data "tls.key") -}}
{{- $certs = dict "ca.crt" (index $existing.data "ca.crt" | b64dec) "tls.crt" (index $existing.data "tls.crt" | b64dec) "tls.key" (index $existing.data "tls.key" | b64dec) -}}
{{- else -}}
{{- $days := int .Values.certificates.selfSigned.validityDays -}}
{{- $ca := genCA (printf "%s-ca" (include "stackhook.fullname" .)) $days -}}
{{- $names := include "stackhook.dnsNames" . | fromJsonArray -}}
{{- $cert := genSignedCert (index $names 2) nil $names $days $ca -}}
{{- $certs = dict "ca.crt" $ca.Cert "tls.crt" $cert.Cert "tls.key" $cert.Key -}}
{{- end -}}
{{- $_ := set .Release "stackhookCertificates" $certs -}}
{{- end -}}
{{- index .Release "stackhookCertificates" | toJson -}}
{{- end -}}

{{/* The caBundle of the webhook configurations (empty with cert-manager: injected). */}}
{{- define "stackhook.caBundle" -}}
{{- if eq .Values.certificates.mode "selfSigned" -}}
{{- index (include "stackhook.selfSigned" . | fromJson) "ca.crt" | b64enc -}}
{{- else if eq .Values.certificates.mode "existingSecret" -}}
{{- required "certificates.existingSecret.caBundle is required with mode existingSecret" .Values.certificates.existingSecret.caBundle -}}
{{- end -}}
{{- end -}}

{{/* Rolls the pods when the serving certificate changes. */}}
{{- define "stackhook.certChecksum" -}}
{{- if eq .Values.certificates.mode "selfSigned" -}}
{{- include "stackhook.selfSigned" . | sha256sum -}}
{{- else if eq .Values.certificates.mode "existingSecret" -}}
{{- .Values.certificates.existingSecret | toJson | sha256sum -}}
{{- else -}}
{{- .Values.certificates.certManager | toJson | sha256sum -}}
{{- end -}}
{{- end -}}

{{- define "stackhook.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- $excluded := concat (list .Release.Namespace "kube-system") .Values.webhook.excludeNamespaces | uniq }}
        {{- range $excluded }}
        - {{ . | quote }}
        {{- end }}
{{- end -}}

{{- define "stackhook.clientConfig" -}}
clientConfig:
  {{- with .root.Values.webhook.url }}
  url: {{ printf "%s%s" . $.path | quote }}
  {{- else }}
  service:
    name: {{ include "stackhook.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- end }}
  {{- with include "stackhook.caBundle" .root }}
  caBundle: {{ . }}
  {{- end }}
{{- end -}}

{{/* The controller's pods: a name of their own, so the webhook's Service and
Deployment never select them. */}}
{{- define "stackhook.controllerSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}-controller
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "stackhook.controllerLabels" -}}
{{ include "stackhook.controllerSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* "true" when the controller is deployed: enabled, and granted namespaces. */}}
{{- define "stackhook.controllerOn" -}}
{{- if and .Values.controller.enabled .Values.controller.namespaces -}}true{{- end -}}
{{- end -}}

{{/* The namespaces the controller manages, checked: never the system namespaces or
the release's own (the webhook's token and certificates live there). */}}
{{- define "stackhook.controllerNamespaces" -}}
{{- $forbidden := list "kube-system" "kube-public" "kube-node-lease" .Release.Namespace -}}
{{- range .Values.controller.namespaces -}}
{{- if has . $forbidden -}}
{{- fail (printf "controller.namespaces: %q is not a namespace the controller may manage (kube-system, kube-public, kube-node-lease and the release namespace are refused)" .) -}}
{{- end -}}
{{- end -}}
{{- .Values.controller.namespaces | uniq | toJson -}}
{{- end -}}
