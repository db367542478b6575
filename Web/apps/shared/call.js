// The code shared by Parley's call apps: Conference, Two Way Video Chat, Two Way Video Chat & Screen.
// Each app's index.html holds the page (elements with the ids below) and calls startCallApp(options).
//
//   #login #joinBtn #status        login, Join/Leave, the session's status (ESTABLISHED, RECONNECTING, …)
//   #notice                        messages for the user (room full, name taken, camera blocked, connection lost)
//   #localVideo #localStatus       our camera and its stream status (PUBLISHING, FAILED …)
//   #micBtn #camBtn                mute / unmute microphone and camera
//   #cameraSelect #micSelect       which camera and microphone
//   #remoteVideos                  the others' cameras (a <figure> each, with name, status and mute state)
//   #remoteScreens #shareBtn       optional: shared screens, and Share / Stop sharing
//   #recordToggle #recordings      optional: record our camera (it is published again, recorded), and links to the
//                                  files of recorded streams once they end
//   #inviteAddress #copyBtn #participants #chat #message #sendBtn
//
// URL parameters: ?roomName=… joins that room (the invite link); without it the server creates a room.
// ?maxParticipants=N sets the cap of a room this page creates.
// window.app is a debugging hook (the browser console and the e2e tests read it): the SDK session, room,
// our camera and screen streams, and `plays` (published stream id → {participant, display, stream, tile}).
import { Parley, SESSION_STATUS, ROOM_EVENT, STREAM_STATUS } from "/sdk/parley.js";

const $ = (id) => document.getElementById(id);

export function startCallApp({ maxParticipants = 3, screenSharing = false } = {}) {
  const params = new URLSearchParams(location.search);
  const cap = Number.parseInt(params.get("maxParticipants") ?? "", 10);
  const joinOptions = { maxParticipants: cap >= 1 ? cap : maxParticipants };
  if (params.get("roomName")) joinOptions.name = params.get("roomName");
  const urlServer = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const app = (window.app = { session: null, room: null, camera: null, screen: null, plays: new Map() });
  const muted = { audio: false, video: false };
  const seen = new Set();  // chat messages shown (a rejoin after a reconnect brings the history again)
  let reconnecting = false;

  // ---- small helpers ----
  function notice(text, kind = "info") {
    $("notice").textContent = text;
    $("notice").className = `notice ${kind}`;
    $("notice").hidden = !text;
  }
  const clearNotice = () => notice("");
  const describe = (status, info) => (status === STREAM_STATUS.FAILED && info ? `FAILED: ${info.message}` : status);

  function setJoined(joined) {
    $("joinBtn").textContent = joined ? "Leave" : "Join";
    $("login").disabled = joined;
    for (const id of ["message", "sendBtn", "micBtn", "camBtn", "cameraSelect", "micSelect", "shareBtn"]) {
      if ($(id)) $(id).disabled = !joined;
    }
  }

  function chatLine(text, system = false, from = null, time = null) {
    const li = document.createElement("li");
    if (system) li.className = "system";
    if (from !== null) {
      li.dataset.from = from;
      const name = li.appendChild(document.createElement("span"));
      name.className = "from";
      name.textContent = from === app.session?.username() ? `${from} (you)` : from;
    }
    const span = li.appendChild(document.createElement("span"));
    span.className = "text";
    span.textContent = text;
    if (time) li.appendChild(document.createElement("time")).textContent = time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    $("chat").append(li);
    $("chat").scrollTop = $("chat").scrollHeight;
  }

  function showMessage(message) {
    const key = `${+message.time}|${message.from.name()}|${message.text}`;
    if (seen.has(key)) return;
    seen.add(key);
    // An empty sender is the server (an operator's message through the admin API).
    if (message.from.name() === "") chatLine(message.text, true, null, message.time);
    else chatLine(message.text, false, message.from.name(), message.time);
  }

  function showParticipants() {
    const room = app.room;
    const names = [app.session.username(), ...room.getParticipants().map((p) => p.name())];
    $("participants").textContent = `${names.length} of ${room.maxParticipants()} in the room: ${names.join(", ")}`;
  }

  // ---- join and leave ----
  function join(username) {
    clearNotice();
    setJoined(true);
    const session = (app.session = Parley.roomApi.connect({ urlServer, username }));
    for (const status of Object.values(SESSION_STATUS)) session.on(status, (_s, info) => onSession(session, status, info));
    const room = (app.room = session.join(joinOptions));
    const mine = (handler) => (...args) => { if (app.room === room) handler(...args); };
    room
      .on(ROOM_EVENT.STATE, mine(onState))
      .on(ROOM_EVENT.FAILED, mine((_r, info) => onRoomFailed(info, username)))
      .on(ROOM_EVENT.JOINED, mine((p) => { chatLine(`${p.name()} joined`, true); showParticipants(); }))
      .on(ROOM_EVENT.LEFT, mine((p) => {
        chatLine(`${p.name()} left`, true);
        for (const [id, play] of app.plays) if (play.participant === p.name()) removePlay(id);
        showParticipants();
      }))
      .on(ROOM_EVENT.MESSAGE, mine(showMessage))
      .on(ROOM_EVENT.PUBLISHED, mine(play))
      .on(ROOM_EVENT.UNPUBLISHED, mine((_p, info) => removePlay(info.id)))
      .on(ROOM_EVENT.UPDATED, mine((_p, info) => { const tile = app.plays.get(info.id)?.tile; if (tile) showMute(tile, info); }));
  }

  async function leave(finalStatus = SESSION_STATUS.DISCONNECTED) {
    const { session, room } = app;
    app.session = app.room = null;
    for (const id of [...app.plays.keys()]) removePlay(id);
    app.camera?.stop();
    app.screen?.stop();
    await room?.leave().catch(() => {});  // the others see "left" (a bare disconnect would say "disconnected")
    session?.disconnect();
    $("status").textContent = finalStatus;
    $("localStatus").textContent = $("participants").textContent = "";
    reconnecting = false;
    setJoined(false);
  }

  function onSession(session, status, info) {
    if (app.session !== session) return;
    $("status").textContent = status;
    if (status === SESSION_STATUS.RECONNECTING) {
      if (!reconnecting) chatLine("Connection lost: reconnecting…", true);
      reconnecting = true;
      notice(`Connection to the server lost: reconnecting (attempt ${info?.attempt ?? 1})…`, "warn");
    } else if (status === SESSION_STATUS.FAILED) {
      notice(info?.code === "connection_lost"
        ? "Cannot reach the server. Check your network and press Join to try again."
        : info?.code === "kicked" ? "You were removed from the room."
        : `The server refused the session: ${info?.message ?? info?.code}`, "error");
      leave(SESSION_STATUS.FAILED);
    }
  }

  function onState(room) {
    // The invite link is this page with the room's name (the server names a room created without one).
    const invite = new URL(location.pathname, location.href);
    invite.searchParams.set("roomName", room.name());
    $("inviteAddress").href = $("inviteAddress").textContent = invite.href;
    const here = new URL(location.href);
    here.searchParams.set("roomName", room.name());
    history.replaceState(null, "", here);  // a reload rejoins the same room
    if (reconnecting) {
      reconnecting = false;
      chatLine("Reconnected", true);
      notice("The connection was lost and is back: you are in the room again.");
    } else {
      chatLine(`You joined as ${app.session.username()}`, true);
    }
    for (const message of room.history()) showMessage(message);
    showParticipants();
    // Plays end with a dropped socket: play everyone's again. Our camera is kept and published again by the SDK;
    // publish it here on the first join (or when it failed meanwhile).
    for (const participant of room.getParticipants()) for (const info of participant.getStreams()) play(participant, info);
    if (!app.camera) publishCamera();
  }

  function onRoomFailed(info, username) {
    const messages = {
      room_full: `${info.message}. Ask for a new invite link, or try again later.`,
      name_taken: `The login "${username}" is already taken in this room: choose another one.`,
      invalid_room: `This invite link is not valid: ${info.message}`,
    };
    leave().then(() => notice(messages[info.code] ?? `Could not join the room: ${info.message}`, "error"));
  }

  // ---- our camera and microphone ----
  function publishCamera() {
    if (!navigator.mediaDevices) {
      notice("The camera needs a secure page: open it with https:// (or on localhost).", "error");
      return;
    }
    const device = (select) => (select.value ? { deviceId: select.value } : true);
    const record = $("recordToggle")?.checked === true;
    const camera = (app.camera = app.room.publish({
      display: $("localVideo"), name: "camera", record,
      constraints: { audio: device($("micSelect")), video: device($("cameraSelect")) },
    }));
    // The server finishes the file when the stream ends: then it can be fetched.
    if (record) {
      camera.on("recording", (stream, { status, message }) => {
        if (status === "finished" || status === "stopped") showRecording(stream);  // the file is complete
        if (status === "stopped" || status === "failed") notice(`Recording ${status}: ${message}`, "warn");
      });
    }
    $("localStatus").textContent = STREAM_STATUS.PENDING;
    if (muted.audio) camera.muteAudio().catch(() => {});
    if (muted.video) camera.muteVideo().catch(() => {});
    for (const status of Object.values(STREAM_STATUS)) {
      camera.on(status, (_s, info) => {
        if (app.camera !== camera) return;  // an old publish (device changed)
        $("localStatus").textContent = describe(status, info);
        if (status === STREAM_STATUS.PUBLISHING) listDevices();
        if (status !== STREAM_STATUS.FAILED && status !== STREAM_STATUS.UNPUBLISHED) return;
        app.camera = null;
        if (info?.code === "media_denied") {
          notice("Camera or microphone blocked: allow them in the browser's site settings, then pick a camera. "
            + "You can still chat.", "error");
          listDevices();
        } else if (status === STREAM_STATUS.FAILED && info?.code !== "connection_lost") {
          notice(`Your camera stream failed (${info.message}). Pick a camera to try again.`, "error");
        }
      });
    }
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (kind) => app.camera?.localStream()?.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId;
    for (const [select, kind, label, trackKind] of [[$("cameraSelect"), "videoinput", "Camera", "video"],
      [$("micSelect"), "audioinput", "Microphone", "audio"]]) {
      const chosen = current(trackKind) ?? select.value;
      select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => new Option(d.label || `${label} ${i + 1}`, d.deviceId)));
      if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
    }
  }
  navigator.mediaDevices?.addEventListener("devicechange", () => { if (app.room) listDevices(); });

  const shownRecordings = new Set();
  function showRecording(stream) {
    const name = stream.getRecordInfo()?.recordName;
    if (!name || !$("recordings") || shownRecordings.has(name)) return;
    shownRecordings.add(name);
    const link = document.createElement("a");
    link.href = `/client/records/${encodeURIComponent(name)}`;
    link.textContent = name;
    link.target = "_blank";
    link.rel = "noopener";
    $("recordings").hidden = false;
    $("recordings").append(link);
  }

  function changeDevice() {
    if (!app.room?.isJoined()) return;
    const old = app.camera;
    app.camera = null;
    old?.stop();
    clearNotice();
    publishCamera();
  }

  function toggleMute(kind) {
    muted[kind] = !muted[kind];
    const stream = app.camera;
    if (stream) (kind === "audio" ? (muted.audio ? stream.muteAudio() : stream.unmuteAudio())
      : (muted.video ? stream.muteVideo() : stream.unmuteVideo())).catch(() => {});
    $("micBtn").textContent = muted.audio ? "Unmute mic" : "Mute mic";
    $("camBtn").textContent = muted.video ? "Unmute camera" : "Mute camera";
    $("micBtn").classList.toggle("off", muted.audio);
    $("camBtn").classList.toggle("off", muted.video);
    showMute($("localVideo").closest("figure"), { audioMuted: muted.audio, videoMuted: muted.video });
  }

  // ---- the others' streams ----
  function play(participant, info) {
    const old = app.plays.get(info.id);
    if (old && old.stream.status() !== STREAM_STATUS.FAILED) return;
    if (old) removePlay(info.id);  // failed (its tile said why): try again, e.g. on the STATE after a reconnect
    const isScreen = info.display === "screen";
    const tile = document.createElement("figure");
    tile.className = isScreen ? "tile screen" : "tile";
    Object.assign(tile.dataset, { participant: participant.name(), stream: info.id, display: info.display ?? "" });
    const video = tile.appendChild(document.createElement("video"));
    video.addEventListener("click", () => video.play());  // in case the browser held autoplay with sound
    const caption = tile.appendChild(document.createElement("figcaption"));
    for (const part of ["name", "status", "flags"]) caption.appendChild(document.createElement("span")).className = part;
    caption.querySelector(".name").textContent = isScreen ? `${participant.name()}'s screen` : participant.name();
    caption.querySelector(".status").textContent = STREAM_STATUS.PENDING;
    showMute(tile, info);
    (isScreen && $("remoteScreens") ? $("remoteScreens") : $("remoteVideos")).append(tile);
    const stream = participant.play(video, { stream: info.id });
    app.plays.set(info.id, { participant: participant.name(), display: info.display, stream, tile });
    for (const status of Object.values(STREAM_STATUS)) {
      stream.on(status, (_s, streamInfo) => {
        if (app.plays.get(info.id)?.stream !== stream) return;
        tile.querySelector(".status").textContent = describe(status, streamInfo);
        if (status === STREAM_STATUS.STOPPED || streamInfo?.code === "connection_lost") removePlay(info.id);
        else if (status === STREAM_STATUS.FAILED) notice(`Cannot play ${participant.name()}'s ${info.display ?? "stream"}: ${streamInfo.message}`, "error");
      });
    }
  }

  function removePlay(id) {
    const play = app.plays.get(id);
    if (!play) return;
    app.plays.delete(id);
    play.stream.stop();
    play.tile.remove();
  }

  function showMute(tile, { audioMuted, videoMuted }) {
    tile.classList.toggle("video-off", !!videoMuted);
    tile.querySelector(".flags").textContent = [audioMuted && "mic off", videoMuted && "camera off"].filter(Boolean).join(" · ");
  }

  // ---- screen sharing ----
  function toggleShare() {
    if (app.screen) { app.screen.stop(); return; }
    const screen = (app.screen = app.room.publish({ display: $("localScreen"), name: "screen", constraints: { screen: true } }));
    $("shareBtn").textContent = "Stop sharing";
    $("localScreen").closest("figure").hidden = false;
    for (const status of Object.values(STREAM_STATUS)) {
      screen.on(status, (_s, info) => {
        if (app.screen !== screen) return;
        $("localScreenStatus").textContent = describe(status, info);
        if (status !== STREAM_STATUS.FAILED && status !== STREAM_STATUS.UNPUBLISHED) return;
        // Ended by us, by the browser's own "Stop sharing" (the SDK unpublishes then), or failed.
        app.screen = null;
        $("shareBtn").textContent = "Share screen";
        $("localScreen").closest("figure").hidden = true;
        if (info?.code === "media_denied") notice("Screen sharing was cancelled or is not allowed by the browser.", "warn");
        else if (status === STREAM_STATUS.FAILED && info?.code !== "connection_lost") notice(`Screen sharing failed: ${info.message}`, "error");
      });
    }
  }

  // ---- wiring ----
  $("joinForm").addEventListener("submit", (event) => {
    event.preventDefault();
    if (app.session) { leave(); return; }
    const username = $("login").value.trim();
    if (!username) { notice("Type a login first.", "warn"); $("login").focus(); return; }
    join(username);
  });
  $("chatForm").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (!text || !app.room?.isJoined()) return;
    $("message").value = "";
    app.room.sendMessage(text).then(showMessage, (error) => notice(`Message not sent: ${error.message}`, "error"));
  });
  $("copyBtn").addEventListener("click", async () => {
    if (!$("inviteAddress").href) return;
    try {
      await navigator.clipboard.writeText($("inviteAddress").href);
      $("copyBtn").textContent = "Copied";
    } catch {
      getSelection().selectAllChildren($("inviteAddress"));  // no clipboard access (http://): select it instead
    }
    setTimeout(() => { $("copyBtn").textContent = "Copy"; }, 1500);
  });
  $("micBtn").addEventListener("click", () => toggleMute("audio"));
  $("camBtn").addEventListener("click", () => toggleMute("video"));
  $("cameraSelect").addEventListener("change", changeDevice);
  $("micSelect").addEventListener("change", changeDevice);
  $("recordToggle")?.addEventListener("change", changeDevice);  // a recording starts (or stops) with a new publish
  if (screenSharing) $("shareBtn").addEventListener("click", toggleShare);
  setJoined(false);
  if (joinOptions.name) $("participants").textContent = `Invited to room ${joinOptions.name}: type a login and press Join.`;
  $("login").focus();
}
