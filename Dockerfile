# tradepulse backend: OTLP receivers (4318 HTTP, 4317 gRPC) and the dashboard/REST/metrics port
# (8080), storing into SQLite under the /var/lib/tradepulse volume.
#   docker build -t tradepulse .
#   docker run -p 4318:4318 -p 8080:8080 -v tradepulse-data:/var/lib/tradepulse tradepulse

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sdk ./sdk
COPY backend ./backend
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[backend,grpc]"

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tradepulse --create-home \
        tradepulse
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "tradepulse[backend,grpc]" \
    && rm -rf /wheels
# The dashboard's built-in layouts live in the repository's dashboards/, outside the package:
# put them where the installed package looks for them (dashboard.layouts.BUILTIN_DIR).
COPY dashboards /opt/tradepulse/dashboards
RUN ln -s /opt/tradepulse/dashboards "$(python -c \
        'from tradepulse_backend.dashboard.layouts import BUILTIN_DIR; print(BUILTIN_DIR)')"
COPY docker/tradepulse.yaml /etc/tradepulse/tradepulse.yaml
VOLUME /var/lib/tradepulse
USER tradepulse
EXPOSE 4317 4318 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["tradepulse"]
CMD ["serve", "--config", "/etc/tradepulse/tradepulse.yaml", "--data-dir", "/var/lib/tradepulse"]
