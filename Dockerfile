# seldon-server base and s2i builder image (Python 3.11), built from the repository root:
#
#     docker build -t seldon-server-python:0.1.0 .
#
# Model images are built on it either with source-to-image, which runs /s2i/bin/assemble on the
# model folder and starts /s2i/bin/run:
#
#     s2i build examples/models/iris seldon-server-python:0.1.0 iris-model
#
# or with a plain Dockerfile in the model folder (the scripts read its .s2i/environment):
#
#     FROM seldon-server-python:0.1.0
#     COPY --chown=8888:0 . /tmp/src
#     RUN /s2i/bin/assemble
#     CMD ["/s2i/bin/run"]
#
# then `docker run --rm -p 9000:9000 -p 5000:5000 -p 6000:6000 iris-model`. See s2i/README.md.
#
# BASE_IMAGE may be any Debian-based image with Python 3.11 as `python` (scripts/test-image builds
# one with debootstrap where no registry is reachable). PIP_CERT, a build argument and so never
# part of the image, names a CA bundle for pip when a proxy needs one.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

LABEL io.openshift.s2i.scripts-url="image:///s2i/bin" \
      io.openshift.s2i.destination="/tmp" \
      io.k8s.display-name="seldon-server Python 3.11" \
      io.k8s.description="Builder and base image for Seldon Core v1 compatible Python model servers" \
      io.openshift.expose-services="9000:http,5000:grpc,6000:metrics" \
      io.openshift.tags="builder,python,seldon"

# A virtualenv owned by the runtime user, so assemble installs model dependencies without root.
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/seldon \
    PATH=/opt/seldon/bin:$PATH \
    MICROSERVICE_DIR=/microservice

# tini as PID 1 reaps orphans and forwards signals to the server that `run` execs. Its version is
# whatever the base image's Debian release ships (a pin would break with each point release).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 8888 --gid 0 --create-home --home-dir /home/seldon --shell /usr/sbin/nologin seldon \
    && python -m venv /opt/seldon \
    && mkdir -p /microservice /tmp/src

COPY pyproject.toml README.md /build/seldon-server/
COPY seldon_server /build/seldon-server/seldon_server
COPY seldon_core /build/seldon-server/seldon_core
ARG PIP_CERT
RUN pip install --no-cache-dir "/build/seldon-server[kafka]" \
    && rm -rf /build \
    && chown -R 8888:0 /opt/seldon /microservice /tmp/src \
    && chmod -R g=u /opt/seldon /microservice /tmp/src

COPY s2i/bin /s2i/bin

WORKDIR /microservice
USER 8888
EXPOSE 9000 5000 6000
ENTRYPOINT ["tini", "--"]
CMD ["/s2i/bin/usage"]
