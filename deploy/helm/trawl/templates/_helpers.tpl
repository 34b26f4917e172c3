{{/* The five services, in the order that gives each its port (shared/events/base.py SERVICES). */}}
{{- define "trawl.serviceNames" -}}
{{- list "ingest" "crawler" "extractor" "llm" "exporter" | toJson -}}
{{- end -}}

{{- define "trawl.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "trawl.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: trawl
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service: dict "root" $ "service" "ingest" */}}
{{- define "trawl.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{/* Every pod of the release (the NetworkPolicies' common selector). */}}
{{- define "trawl.releaseSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "trawl.componentName" -}}
{{- printf "%s-%s" (include "trawl.fullname" .root) .service -}}
{{- end -}}

{{- define "trawl.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "trawl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "trawl.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The HTTP port of a service: the base port plus its index. dict "root" $ "service" "ingest" */}}
{{- define "trawl.port" -}}
{{- $names := include "trawl.serviceNames" .root | fromJsonArray -}}
{{- $index := -1 -}}
{{- range $i, $name := $names -}}
{{- if eq $name $.service -}}{{- $index = $i -}}{{- end -}}
{{- end -}}
{{- if lt $index 0 -}}{{- fail (printf "unknown service %q" .service) -}}{{- end -}}
{{- add .root.Values.config.httpBasePort $index -}}
{{- end -}}

{{/* Kafka topic of an event: prefix + trawl.<event>.v1 */}}
{{- define "trawl.topic" -}}
{{- printf "%strawl.%s.v1" .root.Values.config.topicPrefix .event -}}
{{- end -}}

{{/* A topic name as a Kubernetes object name (lower case, [a-z0-9.-]). */}}
{{- define "trawl.topicObjectName" -}}
{{- regexReplaceAll "[^a-z0-9.-]" (lower .) "-" | trunc 253 | trimSuffix "-" | trimSuffix "." -}}
{{- end -}}

{{- define "trawl.consumerGroup" -}}
{{- printf "%s%s" .root.Values.config.topicPrefix .service -}}
{{- end -}}

{{/* Partitions of an event's topic (the override, else the default). */}}
{{- define "trawl.partitions" -}}
{{- $topics := .root.Values.kafka.strimzi.topics -}}
{{- $override := get $topics.overrides .event | default dict -}}
{{- get $override "partitions" | default $topics.partitions -}}
{{- end -}}

{{/* How many replicas autoscaling may reach: never more than the partitions of the topics it
     scales on, or the extra pods would sit idle (KEDA caps there too). */}}
{{- define "trawl.maxReplicas" -}}
{{- $scaling := (get .root.Values.services .service).autoscaling -}}
{{- range $scaling.scaleOnEvents -}}
{{- $partitions := include "trawl.partitions" (dict "root" $.root "event" .) | int -}}
{{- if gt (int $scaling.maxReplicas) $partitions -}}
{{- fail (printf "services.%s.autoscaling.maxReplicas (%d) is above the %d partitions of %s: extra consumers would idle" $.service (int $scaling.maxReplicas) $partitions .) -}}
{{- end -}}
{{- end -}}
{{- $scaling.maxReplicas -}}
{{- end -}}

{{/* Which autoscaler renders: keda, hpa or none. */}}
{{- define "trawl.autoscaler" -}}
{{- $mode := .Values.autoscaling.mode -}}
{{- if eq $mode "auto" -}}
{{- if .Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject" -}}keda{{- else -}}hpa{{- end -}}
{{- else -}}
{{- $mode -}}
{{- end -}}
{{- end -}}

{{/* Environment of every Trawl container: dict "root" $ "service" "ingest" */}}
{{- define "trawl.env" -}}
{{- $v := .root.Values -}}
- name: TRAWL_KAFKA_BOOTSTRAP
  value: {{ $v.kafka.bootstrap | quote }}
- name: TRAWL_TOPIC_PREFIX
  value: {{ $v.config.topicPrefix | quote }}
- name: TRAWL_SCHEMA_PREFIX
  value: {{ $v.config.schemaPrefix | quote }}
{{- /* A service creates topics it finds missing: make them what Strimzi would. */}}
- name: TRAWL_TOPIC_PARTITIONS
  value: {{ $v.kafka.strimzi.topics.partitions | quote }}
- name: TRAWL_TOPIC_REPLICATION
  value: {{ $v.kafka.strimzi.topics.replicas | quote }}
- name: TRAWL_PG_DSN
  valueFrom:
    secretKeyRef:
      name: {{ $v.postgres.existingSecret }}
      key: {{ $v.postgres.dsnKey }}
- name: TRAWL_S3_ENDPOINT
  value: {{ $v.s3.endpoint | quote }}
- name: TRAWL_S3_REGION
  value: {{ $v.s3.region | quote }}
- name: TRAWL_S3_BUCKET
  value: {{ $v.s3.bucket | quote }}
- name: TRAWL_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.s3.existingSecret }}
      key: {{ $v.s3.accessKeyKey }}
- name: TRAWL_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.s3.existingSecret }}
      key: {{ $v.s3.secretKeyKey }}
- name: TRAWL_INTERNAL_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $v.internalToken.existingSecret }}
      key: {{ $v.internalToken.key }}
- name: TRAWL_HTTP_HOST
  value: "0.0.0.0"
- name: TRAWL_HTTP_BASE_PORT
  value: {{ $v.config.httpBasePort | quote }}
- name: TRAWL_LOG_LEVEL
  value: {{ $v.config.logLevel | quote }}
- name: TRAWL_LOG_JSON
  value: "true"
{{- /* The root filesystem is read-only: state and caches go to the emptyDir volumes. */}}
- name: TRAWL_HOME
  value: /var/lib/trawl
- name: HOME
  value: /var/lib/trawl
- name: XDG_CACHE_HOME
  value: /var/lib/trawl/cache
- name: TMPDIR
  value: /tmp
{{- if eq .service "ingest" }}
{{- range $callee := include "trawl.internalApis" . | fromJsonArray }}
- name: {{ printf "TRAWL_%s_INTERNAL_URL" (upper $callee) }}
  value: {{ printf "http://%s:%s" (include "trawl.componentName" (dict "root" $.root "service" $callee)) (include "trawl.port" (dict "root" $.root "service" $callee)) | quote }}
{{- end }}
{{- end }}
{{- if eq .service "llm" }}
- name: TRAWL_LLM_MODEL
  value: {{ $v.llm.model | quote }}
- name: TRAWL_LLM_OUTPUT_MODE
  value: {{ $v.llm.outputMode | quote }}
{{- if $v.llm.url }}
- name: TRAWL_LLM_URL
  value: {{ $v.llm.url | quote }}
{{- end }}
{{- if $v.llm.existingSecret }}
- name: TRAWL_LLM_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.llm.existingSecret }}
      key: {{ $v.llm.apiKeyKey }}
{{- end }}
{{- end }}
{{- if or (eq .service "extractor") (eq .service "jobs") }}
- name: TRAWL_QDRANT_URL
  value: {{ $v.qdrant.url | quote }}
{{- if $v.qdrant.existingSecret }}
- name: TRAWL_QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.qdrant.existingSecret }}
      key: {{ $v.qdrant.apiKeyKey }}
{{- end }}
- name: TRAWL_EMBEDDING_BACKEND
  value: {{ $v.embeddings.backend | quote }}
- name: TRAWL_EMBEDDING_MODEL
  value: {{ $v.embeddings.model | quote }}
{{- if $v.embeddings.url }}
- name: TRAWL_EMBEDDING_URL
  value: {{ $v.embeddings.url | quote }}
{{- end }}
{{- if $v.embeddings.existingSecret }}
- name: TRAWL_EMBEDDING_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.embeddings.existingSecret }}
      key: {{ $v.embeddings.apiKeyKey }}
{{- end }}
{{- end }}
{{- range $name, $value := $v.config.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "trawl.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 1Gi
- name: state
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{- define "trawl.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: state
  mountPath: /var/lib/trawl
{{- end -}}


{{- /* The services whose internal HTTP ingest calls for its public API (search, items, images,
       LLM tasks, exports): each gets its URL, an egress rule from ingest and an ingress rule from it. */}}
{{- define "trawl.internalApis" -}}
["crawler", "extractor", "llm", "exporter"]
{{- end -}}
