{{/* The chart name, or nameOverride. */}}
{{- define "kubecors.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name. A release named "kubecors" gets the names
config/default (kustomize) gives: kubecors-controller-manager, ...
*/}}
{{- define "kubecors.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "kubecors.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kubecors.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the manager pods; the same as config/manager. */}}
{{- define "kubecors.selectorLabels" -}}
control-plane: controller-manager
app.kubernetes.io/name: {{ include "kubecors.name" . }}
{{- end }}

{{- define "kubecors.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-controller-manager" (include "kubecors.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kubecors.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "kubecors.webhookServiceName" -}}
{{- printf "%s-webhook-service" (include "kubecors.fullname" .) }}
{{- end }}
{{- define "kubecors.webhookConfigName" -}}
{{- printf "%s-validating-webhook-configuration" (include "kubecors.fullname" .) }}
{{- end }}
{{- define "kubecors.webhookSecretName" -}}
{{- printf "%s-webhook-server-cert" (include "kubecors.fullname" .) }}
{{- end }}
{{- define "kubecors.certificateName" -}}
{{- printf "%s-serving-cert" (include "kubecors.fullname" .) }}
{{- end }}
