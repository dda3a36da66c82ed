// The client's whole public API, its dependencies left out (external): what it adds on its own.
export * from '@holdfast/client';
