// Follow one answer while the model writes it, over the shared SubscriptionClient.
//
// The answer is followed by `postStream(postId)`, which first sends the text so far, then live
// deltas: following it again after the connection is lost (over WebSocket or HTTP) is safe.
// Text updates are coalesced to one per animation frame: a render per token would be wasted.
import { ApiError } from './errors.js';
import { POST_STREAM } from './operations.js';

/**
 * Stream an answer already started (startPrompt, regeneratePost, or found still being written).
 *
 *   const cancel = followAnswer(client, postId, handlers);
 *
 * handlers: onPost(post) when the post is first known and when its status changes;
 * onText(text) with the whole text so far; onDone(post, text) once; onError(error, post).
 * `cancel()` stops listening; the answer goes on being written on the server.
 */
export function followAnswer(client, postId, handlers) {
  let post = null;
  let text = '';
  let expectTextSoFar = true;
  let frame = 0;
  let finished = false;

  const flush = () => {
    frame = 0;
    handlers.onText(text);
  };
  const scheduleFlush = () => {
    if (!frame) frame = requestAnimationFrame(flush);
  };
  const finish = (callback) => {
    if (finished) return;
    finished = true;
    cancelAnimationFrame(frame);
    flush();
    callback();
  };

  const unsubscribe = client.subscribe(
    { query: POST_STREAM, variables: { postId } },
    {
      restart() {
        expectTextSoFar = true;
      },
      next(data) {
        const event = data?.postStream;
        if (!event || finished) return;
        if (expectTextSoFar) {
          text = '';
          expectTextSoFar = false;
        }
        const statusChanged = post?.status !== event.post.status;
        post = event.post;
        if (statusChanged) handlers.onPost(post);
        if (event.delta) {
          text += event.delta;
          scheduleFlush();
        }
        if (event.done) finish(() => handlers.onDone(post, text));
      },
      error(error) {
        finish(() => handlers.onError(error, post));
      },
      complete() {
        if (post) finish(() => handlers.onDone(post, text));
        else finish(() => handlers.onError(new ApiError('INTERNAL_SERVER_ERROR'), null));
      },
    },
  );

  return () => {
    finished = true;
    cancelAnimationFrame(frame);
    unsubscribe();
  };
}

/**
 * The post `postId` with its whole answer, once the answer has ended (one that has ended
 * comes at once): `const post = await readAnswer(client, postId)`.
 */
export function readAnswer(client, postId) {
  return new Promise((resolve, reject) => {
    followAnswer(client, postId, {
      onPost() {},
      onText() {},
      onDone: (post, text) => resolve({ ...post, body: text }),
      onError: (error) => reject(error),
    });
  });
}
