/** What a worker posts once it has loaded and listens for jobs (see WorkerPool.create). */
export const WORKER_READY = 'im2col-worker-ready';
