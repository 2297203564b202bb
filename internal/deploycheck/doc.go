// Package deploycheck holds no code of its own: its tests read
// docker-compose.yml, the Dockerfile and the scripts under deploy/ the way
// Docker Compose would, and check that the stack hangs together (images
// pinned, ports free, credentials and addresses agreeing between the
// services that share them), because no test here can start Docker.
package deploycheck
