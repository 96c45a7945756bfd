"""The components of the OpenTelemetry Collector contrib release our collector configs and
docker-compose.yml are written for.

Source: distributions/otelcol-contrib/manifest.yaml of
https://github.com/open-telemetry/opentelemetry-collector-releases at its v0.136.0 modules (the
`gomod:` lines, module basenames only), transcribed here so the tests run offline.
"""

from __future__ import annotations

COLLECTOR_CONTRIB_VERSION = "0.136.0"
IMAGE = f"otel/opentelemetry-collector-contrib:{COLLECTOR_CONTRIB_VERSION}"



def _modules(text: str) -> frozenset[str]:
    return frozenset(text.split())


MODULES: dict[str, frozenset[str]] = {
    "receivers": _modules("""
        nopreceiver otlpreceiver activedirectorydsreceiver aerospikereceiver apachereceiver
        apachesparkreceiver awscloudwatchreceiver awscontainerinsightreceiver
        awsecscontainermetricsreceiver awsfirehosereceiver awss3receiver awsxrayreceiver
        azureblobreceiver azureeventhubreceiver azuremonitorreceiver bigipreceiver carbonreceiver
        chronyreceiver cloudflarereceiver cloudfoundryreceiver collectdreceiver couchdbreceiver
        datadogreceiver dockerstatsreceiver elasticsearchreceiver envoyalsreceiver
        expvarreceiver faroreceiver filelogreceiver filestatsreceiver flinkmetricsreceiver
        fluentforwardreceiver githubreceiver googlecloudmonitoringreceiver
        googlecloudpubsubreceiver googlecloudspannerreceiver haproxyreceiver
        hostmetricsreceiver httpcheckreceiver influxdbreceiver iisreceiver jaegerreceiver
        jmxreceiver journaldreceiver k8sclusterreceiver k8seventsreceiver k8sobjectsreceiver
        kafkametricsreceiver kafkareceiver kubeletstatsreceiver libhoneyreceiver lokireceiver
        memcachedreceiver mongodbatlasreceiver mongodbreceiver mysqlreceiver namedpipereceiver
        netflowreceiver nginxreceiver nsxtreceiver ntpreceiver oracledbreceiver
        otlpjsonfilereceiver otelarrowreceiver podmanreceiver postgresqlreceiver
        prometheusreceiver prometheusremotewritereceiver purefareceiver purefbreceiver
        pulsarreceiver rabbitmqreceiver receivercreator redisreceiver riakreceiver
        saphanareceiver signalfxreceiver simpleprometheusreceiver skywalkingreceiver
        snowflakereceiver solacereceiver splunkenterprisereceiver splunkhecreceiver
        stefreceiver sqlqueryreceiver sqlserverreceiver sshcheckreceiver statsdreceiver
        syslogreceiver tcpcheckreceiver tcplogreceiver tlscheckreceiver udplogreceiver
        vcenterreceiver wavefrontreceiver snmpreceiver webhookeventreceiver
        windowseventlogreceiver windowsperfcountersreceiver zipkinreceiver zookeeperreceiver
    """),
    "processors": _modules("""
        batchprocessor memorylimiterprocessor attributesprocessor cumulativetodeltaprocessor
        coralogixprocessor deltatocumulativeprocessor deltatorateprocessor filterprocessor
        geoipprocessor groupbyattrsprocessor groupbytraceprocessor intervalprocessor
        isolationforestprocessor k8sattributesprocessor logdedupprocessor
        metricsgenerationprocessor metricstarttimeprocessor metricstransformprocessor
        probabilisticsamplerprocessor redactionprocessor remotetapprocessor
        resourcedetectionprocessor resourceprocessor schemaprocessor spanprocessor
        sumologicprocessor tailsamplingprocessor transformprocessor
    """),
    "exporters": _modules("""
        debugexporter nopexporter otlpexporter otlphttpexporter alibabacloudlogserviceexporter
        awscloudwatchlogsexporter awsemfexporter awskinesisexporter awsxrayexporter
        awss3exporter azureblobexporter azuredataexplorerexporter azuremonitorexporter
        bmchelixexporter carbonexporter cassandraexporter clickhouseexporter coralogixexporter
        datadogexporter datasetexporter dorisexporter elasticsearchexporter faroexporter
        fileexporter googlecloudexporter googlecloudpubsubexporter
        googlemanagedprometheusexporter honeycombmarkerexporter influxdbexporter kafkaexporter
        loadbalancingexporter logicmonitorexporter logzioexporter mezmoexporter
        opensearchexporter otelarrowexporter prometheusexporter prometheusremotewriteexporter
        pulsarexporter rabbitmqexporter sapmexporter sentryexporter signalfxexporter
        splunkhecexporter stefexporter sumologicexporter syslogexporter
        tencentcloudlogserviceexporter tinybirdexporter zipkinexporter
    """),
    "extensions": _modules("""
        zpagesextension ackextension asapauthextension awsproxy azureauthextension
        basicauthextension bearertokenauthextension cgroupruntimeextension datadogextension
        googleclientauthextension headerssetterextension healthcheckextension
        httpforwarderextension jaegerremotesampling oauth2clientauthextension dockerobserver
        ecsobserver ecstaskobserver hostobserver k8sobserver kafkatopicsobserver
        oidcauthextension opampextension pprofextension sigv4authextension filestorage
        dbstorage redisstorageextension sumologicextension k8sleaderelector
    """),
}

TYPE_MODULES: dict[str, dict[str, str]] = {
    # The config type name of each component our files use -> its module (from the
    # component's README / metadata.yaml `type:`); a new component must be added here.
    "receivers": {"otlp": "otlpreceiver"},
    "processors": {"memory_limiter": "memorylimiterprocessor", "batch": "batchprocessor",
                   "resourcedetection": "resourcedetectionprocessor"},
    "exporters": {"otlp": "otlpexporter", "otlphttp": "otlphttpexporter",
                  "prometheusremotewrite": "prometheusremotewriteexporter",
                  "datadog": "datadogexporter", "loadbalancing": "loadbalancingexporter",
                  "debug": "debugexporter"},
    "extensions": {"health_check": "healthcheckextension", "basicauth": "basicauthextension"},
}
