# One image, every binary; the deployment picks the service with --target.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/ ./cmd/...

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 devsmith
COPY --from=build /out/ /usr/local/bin/
USER devsmith
EXPOSE 3000 9101 9102 9103 9104
ENTRYPOINT ["/usr/local/bin/devsmith"]
