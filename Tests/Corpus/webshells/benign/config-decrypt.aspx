<%@ Page Language="C#" %>
<script runat="server">
// Decrypts a setting stored encrypted in web.config.
void Page_Load(object s, EventArgs e) {
  var aes = System.Security.Cryptography.Aes.Create();
  aes.Key = System.Convert.FromBase64String(System.Configuration.ConfigurationManager.AppSettings["k"]);
  var c = System.Convert.FromBase64String(System.Configuration.ConfigurationManager.AppSettings["secret"]);
  var plain = aes.CreateDecryptor().TransformFinalBlock(c, 0, c.Length);
  info.Text = plain.Length.ToString();
}
</script>
<asp:Label id="info" runat="server"/>
