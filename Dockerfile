# syntax=docker/dockerfile:1
# One image for every mode: the webhook (`serve`), the controller, and the projector
# injected into workload pods (`project`).

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and build directory between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin stackhook \
    && install -D -m 0755 target/release/stackhook /out/stackhook

# distroless/cc: glibc and CA certificates, no shell, no package manager; runs as
# 65532 (nonroot), which the chart and the injected projector expect.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="stackhook" \
      org.opencontainers.image.description="Admission webhook, controller and secret projector for DataOS-style Stacks on Kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/stackhook/stackhook"
COPY --from=build /out/stackhook /usr/local/bin/stackhook
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/stackhook"]
CMD ["serve"]
