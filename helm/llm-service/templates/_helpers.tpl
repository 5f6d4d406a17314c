{{- define "llm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "llm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "llm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "llm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "llm.apiImage" -}}
{{ .Values.image.api.repository }}:{{ .Values.image.api.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "llm.workerImage" -}}
{{ .Values.image.worker.repository }}:{{ .Values.image.worker.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "llm.apiKeysSecret" -}}
{{ .Values.apiKeys.existingSecret | default (printf "%s-api-keys" (include "llm.fullname" .)) }}
{{- end }}

{{- define "llm.redisSecret" -}}
{{ .Values.redis.existingSecret | default (printf "%s-redis" (include "llm.fullname" .)) }}
{{- end }}

{{/* The REDIS_URL env entry (plus what it is built from) that every process gets. */}}
{{- define "llm.redisEnv" -}}
{{- if .Values.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "llm.redisSecret" . }}, key: {{ .Values.redis.existingSecretKey }}}
- name: REDIS_URL
  {{- if .Values.redis.ha.enabled }}
  value: "redis+sentinel://:$(REDIS_PASSWORD)@{{ include "llm.sentinelHosts" . }}/{{ include "llm.sentinelService" . }}"
  {{- else }}
  value: "redis://:$(REDIS_PASSWORD)@{{ include "llm.fullname" . }}-redis:6379/0"
  {{- end }}
{{- else if .Values.redis.externalUrlSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.redis.externalUrlSecret }}, key: {{ .Values.redis.externalUrlSecretKey }}}
{{- else }}
- name: REDIS_URL
  value: {{ required "redis.externalUrl or redis.externalUrlSecret is needed when redis.enabled is false" .Values.redis.externalUrl | quote }}
{{- end }}
{{- end }}

{{/* Redis' side of the workers' ACL user: its password and its rules (files/) as environment, which the
Redis and Sentinel containers write into their configuration as a `user` directive. */}}
{{- define "llm.redisWorkerUserEnv" -}}
- name: REDIS_WORKER_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "llm.redisSecret" . }}, key: {{ .Values.redis.existingSecretWorkerKey }}}
- {name: WORKER_ACL, value: {{ .Files.Get "files/redis-worker.acl" | trim | quote }}}
- {name: WORKER_SENTINEL_ACL, value: {{ .Files.Get "files/redis-worker-sentinel.acl" | trim | quote }}}
{{- end }}

{{/* REDIS_URL for workers: the chart's Redis as its `worker` ACL user; an external Redis as everyone. */}}
{{- define "llm.workerRedisEnv" -}}
{{- if .Values.redis.enabled }}
- name: REDIS_WORKER_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "llm.redisSecret" . }}, key: {{ .Values.redis.existingSecretWorkerKey }}}
- name: REDIS_URL
  {{- if .Values.redis.ha.enabled }}
  value: "redis+sentinel://worker:$(REDIS_WORKER_PASSWORD)@{{ include "llm.sentinelHosts" . }}/{{ include "llm.sentinelService" . }}"
  {{- else }}
  value: "redis://worker:$(REDIS_WORKER_PASSWORD)@{{ include "llm.fullname" . }}-redis:6379/0"
  {{- end }}
{{- else }}
{{- include "llm.redisEnv" . }}
{{- end }}
{{- end }}

{{- define "llm.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* What every worker Deployment the operator creates shares with the chart's own workers (JSON). */}}
{{- define "llm.operatorWorkerTemplate" -}}
{{- $volume := dict "name" "models" "emptyDir" (dict) }}
{{- if .Values.modelCache.existingClaim }}
{{- $volume = dict "name" "models" "persistentVolumeClaim" (dict "claimName" .Values.modelCache.existingClaim) }}
{{- else if .Values.modelCache.persistence }}
{{- $volume = dict "name" "models" "persistentVolumeClaim" (dict "claimName" (printf "%s-models" (include "llm.fullname" .))) }}
{{- end }}
{{- $pullSecrets := list }}
{{- range .Values.image.pullSecrets }}{{ $pullSecrets = append $pullSecrets (dict "name" .) }}{{ end }}
{{- dict
    "labels" (include "llm.selectorLabels" . | fromYaml)
    "env" (include "llm.workerRedisEnv" . | fromYamlArray)
    "envFrom" (list (dict "configMapRef" (dict "name" (printf "%s-settings" (include "llm.fullname" .)))))
    "podSecurityContext" .Values.podSecurityContext
    "securityContext" .Values.securityContext
    "modelVolume" $volume
    "tmpSizeLimit" .Values.tmpSizeLimit
    "imagePullSecrets" $pullSecrets
    "imagePullPolicy" .Values.image.pullPolicy
  | toJson }}
{{- end }}

{{/* Redis HA: the Sentinel service name, and every Sentinel's stable address (one per Redis pod). */}}
{{- define "llm.sentinelService" -}}
{{ include "llm.fullname" . }}
{{- end }}

{{- define "llm.sentinelHosts" -}}
{{- $full := include "llm.fullname" . }}
{{- $hosts := list }}
{{- range $i := until (int .Values.redis.ha.replicas) }}
{{- $hosts = append $hosts (printf "%s-redis-%d.%s-redis-ha:26379" $full $i $full) }}
{{- end }}
{{- join "," $hosts }}
{{- end }}
